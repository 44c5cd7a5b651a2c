// The admin API (/-/api/v1/): authentication and roles, routing, and the read endpoints
// (status, queue, audit) with tokens and snapshots.
#include "admin/admin_api.hpp"

#include "admin/api_json.hpp"
#include "advisories/feed.hpp"
#include "admin/auth.hpp"
#include "pages/facts.hpp"
#include "pages/project_index.hpp"
#include "pages/snapshots.hpp"
#include "http/writer.hpp"

#include <airlock/policy/filename.hpp>
#include <airlock/util/log.hpp>
#include <airlock/util/units.hpp>

#include <boost/json.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <set>

namespace airlock::proxy {

namespace {

constexpr std::size_t k_default_audit_limit = 1000;
constexpr std::size_t k_max_audit_limit = 100'000;

} // namespace

AdminApi::AdminApi(const policy::Policy& policy, const Clock& clock, storage::Store& store, ProjectIndex& index,
                   SnapshotService& snapshots, Writer& writer, Writer& reads, AdvisoryFeed& advisories,
                   std::function<void()> publish_snapshots)
  : m_policy(policy),
    m_clock(clock),
    m_store(store),
    m_index(index),
    m_snapshots(snapshots),
    m_writer(writer),
    m_reads(reads),
    m_advisories(advisories),
    m_publish_snapshots(std::move(publish_snapshots))
{
}

Awaitable<void>
AdminApi::handle(Exchange& exchange, std::span<const std::string_view> segments)
{
  const auto principal = authenticate(m_store, exchange.request[http::field::authorization]);
  if (!principal) {
    exchange.outcome = "unauthorized";
    http::response<http::span_body<const char>> response{http::status::unauthorized, 11};
    static constexpr std::string_view k_body = "{\"error\":\"a valid API token is required (Authorization: Bearer ...)\"}\n";
    response.set(http::field::www_authenticate, "Bearer realm=\"airlock\"");
    response.set(http::field::content_type, "application/json");
    response.body() = {k_body.data(), k_body.size()};
    co_await send(exchange, response);
    co_return;
  }
  const auto method = exchange.request.method();
  const bool get = method == http::verb::get || method == http::verb::head;
  const bool post = method == http::verb::post;

  struct Endpoint
  {
    bool matches;
    bool method_ok;
    storage::Role role;
  };
  const auto route = [&]() -> Endpoint {
    if (segments.size() == 2 && segments[0] == "projects" && !segments[1].empty()) {
      return {true, get, storage::Role::reader};
    }
    if (segments.size() == 1 && (segments[0] == "queue" || segments[0] == "audit" || segments[0] == "whoami")) {
      return {true, get, storage::Role::reader};
    }
    if (segments.size() == 1 && (segments[0] == "approve" || segments[0] == "block" || segments[0] == "unblock")) {
      return {true, post, storage::Role::reviewer};
    }
    if (segments.size() == 1 && segments[0] == "tokens") {
      return {true, post, storage::Role::admin};
    }
    if (segments.size() == 1 && segments[0] == "snapshots") {
      return {true, get || post, post ? storage::Role::admin : storage::Role::reader};
    }
    if (segments.size() == 2 && segments[0] == "snapshots" && !segments[1].empty()) {
      return {true, get, storage::Role::reader};
    }
    if (segments.size() == 2 && segments[0] == "advisories" && segments[1] == "import") {
      return {true, post, storage::Role::admin};
    }
    if (segments[0] == "advisories" && (segments.size() == 1 || (segments.size() == 2 && !segments[1].empty()))) {
      return {true, get, storage::Role::reader};
    }
    return {false, false, storage::Role::admin};
  }();
  if (!route.matches) {
    co_await send_error(exchange, http::status::not_found, "no such API endpoint");
    co_return;
  }
  if (!route.method_ok) {
    co_await send_error(exchange, http::status::method_not_allowed,
                        fmt::format("{} is not allowed here", exchange.request.method_string()));
    co_return;
  }
  if (principal->role < route.role) {
    exchange.outcome = "forbidden";
    co_await send_error(exchange, http::status::forbidden,
                        fmt::format("token \"{}\" has role {}; this needs {}", principal->name,
                                    to_string(principal->role), to_string(route.role)));
    co_return;
  }
  if (segments[0] == "projects") {
    co_await status(exchange, segments[1]);
  } else if (segments[0] == "queue") {
    co_await queue(exchange);
  } else if (segments[0] == "audit") {
    co_await audit(exchange);
  } else if (segments[0] == "whoami") {
    json::object body;
    body["name"] = principal->name;
    body["role"] = to_string(principal->role);
    co_await send_json(exchange, http::status::ok, body);
  } else if (segments[0] == "tokens") {
    co_await create_token(exchange, principal->name);
  } else if (segments[0] == "advisories" && post) {
    co_await import_advisories(exchange, principal->name);
  } else if (segments[0] == "advisories" && segments.size() == 2) {
    co_await show_advisory(exchange, segments[1]);
  } else if (segments[0] == "advisories") {
    co_await list_advisories(exchange);
  } else if (segments[0] == "snapshots" && post) {
    co_await create_snapshot(exchange, principal->name);
  } else if (segments[0] == "snapshots") {
    // Computed outside the co_await: GCC 12 evaluates both arms of a conditional inside one.
    std::string_view name;
    if (segments.size() == 2) {
      name = segments[1];
    }
    co_await show_snapshots(exchange, name);
  } else {
    co_await decide(exchange, segments[0], principal->name);
  }
}

Awaitable<void>
AdminApi::status(Exchange& exchange, std::string_view raw_name)
{
  if (!policy::is_valid_project_name(raw_name)) {
    co_await send_error(exchange, http::status::bad_request, fmt::format("\"{}\" is not a valid project name", raw_name));
    co_return;
  }
  const std::string name = policy::normalize_project_name(raw_name);
  // Brings the listing up to date (or fails as the index would).
  auto view = co_await m_index.project(name);
  auto listing = m_store.listing(name);
  if (!listing) {
    unsigned status = 404;
    std::string message = "no such project: " + name;
    if (!view) {
      status = view.error().status;
      message = view.error().message;
    }
    co_await send_error(exchange, static_cast<http::status>(status), message);
    co_return;
  }
  const std::string wanted = query_param(exchange.query, "version");
  const std::string wanted_key = wanted.empty() ? std::string() : policy::release_key(wanted);
  const auto facts = load_facts(m_store, m_policy, *listing);
  const auto verdicts = m_policy.decide_all(listing->files, facts.context(), m_clock.now());
  json::array files;
  for (std::size_t i = 0; i < listing->files.size(); ++i) {
    const auto& file = listing->files[i];
    if (!wanted.empty() && policy::release_key(file.version) != wanted_key) {
      continue;
    }
    files.push_back(file_json(file, verdicts[i], facts.history, facts.decisions, facts.matches));
  }
  json::array decision_list;
  for (const auto& decision : facts.decisions) {
    decision_list.push_back(decision_json(decision));
  }
  json::object out;
  out["project"] = name;
  out["upstream_status"] = string_or_null(listing->project.status);
  out["fetched_at"] = format_rfc3339(listing->project.fetched_at);
  out["files"] = std::move(files);
  out["decisions"] = std::move(decision_list);
  // What an operator must know about the advisories behind these verdicts.
  json::array warnings;
  for (const auto& warning : m_advisories.warnings(m_clock.now())) {
    warnings.push_back(json::value(warning));
  }
  for (const auto& match : facts.matches) {
    if (match.affected->every_version) {
      warnings.push_back(json::value(fmt::format("advisory {} names every version of {}", match.advisory->id, name)));
    }
  }
  out["warnings"] = std::move(warnings);
  co_await send_json(exchange, http::status::ok, out);
}

Awaitable<void>
AdminApi::queue(Exchange& exchange)
{
  const Time now = m_clock.now();
  struct Item
  {
    std::optional<Time> until;
    json::object file;
  };
  // Every project decided: on the reads thread, not this I/O thread.
  auto items = co_await m_reads.run([&] {
    std::vector<Item> out;
    for_each_decided_project(m_store, m_policy, now, [&](const DecidedProject& project) {
      for (std::size_t i = 0; i < project.listing.files.size(); ++i) {
        const auto& file = project.listing.files[i];
        const auto& verdict = project.verdicts[i];
        // Old bytes upstream replaced wait for nobody: the listed ones are the question.
        if ((verdict.state != policy::State::quarantined && verdict.state != policy::State::held)
            || file.replaced_upstream) {
          continue;
        }
        auto object = file_json(file, verdict, project.facts.history, project.facts.decisions, project.facts.matches);
        object["project"] = project.listing.project.name;
        out.push_back({verdict.until, std::move(object)});
      }
    });
    return out;
  });
  // Soonest first; what waits for a human (no until) last.
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    if (a.until && b.until) {
      return *a.until < *b.until;
    }
    return a.until.has_value() && !b.until.has_value();
  });
  json::array files;
  for (auto& item : items) {
    files.push_back(std::move(item.file));
  }
  json::object out;
  out["files"] = std::move(files);
  co_await send_json(exchange, http::status::ok, out);
}

Awaitable<void>
AdminApi::audit(Exchange& exchange)
{
  const std::string raw_project = query_param(exchange.query, "project");
  const std::string since_text = query_param(exchange.query, "since");
  const std::string limit_text = query_param(exchange.query, "limit");
  std::string project;
  if (!raw_project.empty()) {
    if (!policy::is_valid_project_name(raw_project)) {
      co_await send_error(exchange, http::status::bad_request, "\"project\" must be a valid project name");
      co_return;
    }
    project = policy::normalize_project_name(raw_project);
  }
  std::optional<Time> since;
  if (!since_text.empty()) {
    // An RFC 3339 time, or a duration back from now ("7d").
    if (auto time = parse_rfc3339(since_text)) {
      since = time;
    } else if (auto ago = parse_duration(since_text)) {
      since = m_clock.now() - *ago;
    } else {
      co_await send_error(exchange, http::status::bad_request,
                          "\"since\" must be an RFC 3339 time or a duration such as 7d");
      co_return;
    }
  }
  std::size_t limit = k_default_audit_limit;
  if (!limit_text.empty()) {
    const auto parsed = std::strtoull(limit_text.c_str(), nullptr, 10);
    if (parsed == 0 || parsed > k_max_audit_limit) {
      co_await send_error(exchange, http::status::bad_request,
                          fmt::format("\"limit\" must be between 1 and {}", k_max_audit_limit));
      co_return;
    }
    limit = parsed;
  }
  json::array entries;
  for (const auto& entry : m_store.audit(project, since, limit)) {
    entries.push_back(audit_json(entry));
  }
  json::object out;
  out["entries"] = std::move(entries);
  co_await send_json(exchange, http::status::ok, out);
}

Awaitable<void>
AdminApi::create_token(Exchange& exchange, const std::string& actor)
{
  json::error_code ec;
  const auto parsed = json::parse(exchange.request.body(), ec);
  if (ec || !parsed.is_object()) {
    co_await send_error(exchange, http::status::bad_request, "the body must be a JSON object");
    co_return;
  }
  auto name = string_member(parsed.as_object(), "name");
  auto role_text = string_member(parsed.as_object(), "role");
  const auto role = role_text ? parse_role(*role_text) : std::nullopt;
  if (!name || name->empty() || name->size() > 100 || !role) {
    co_await send_error(exchange, http::status::bad_request,
                        "\"name\" (1-100 characters) and \"role\" (reader, reviewer or admin) are required");
    co_return;
  }
  const Time now = m_clock.now();
  auto token = make_token(*name, *role, now);
  storage::AuditEntry entry;
  entry.time = now;
  entry.actor = actor;
  entry.action = "token-create";
  entry.reason = fmt::format("token \"{}\" with role {}", *name, *role_text);
  entry.before = "-";
  entry.after = std::string(*role_text);
  co_await m_writer.run([&] { m_store.put_token(token.record, entry); });
  json::object out;
  out["name"] = *name;
  out["role"] = *role_text;
  out["token"] = token.token;
  co_await send_json(exchange, http::status::created, out);
}

namespace {

json::object
snapshot_json(const storage::SnapshotRecord& snapshot)
{
  json::object out;
  out["name"] = snapshot.name;
  out["created_at"] = format_rfc3339(snapshot.created_at);
  out["created_by"] = snapshot.created_by;
  out["projects"] = snapshot.projects;
  out["files"] = snapshot.files;
  out["bytes"] = snapshot.bytes;
  out["index_url"] = "/snapshots/" + snapshot.name + "/simple/";
  return out;
}

} // namespace

Awaitable<void>
AdminApi::create_snapshot(Exchange& exchange, const std::string& actor)
{
  json::error_code ec;
  const auto parsed = json::parse(exchange.request.body(), ec);
  auto name = !ec && parsed.is_object() ? string_member(parsed.as_object(), "name") : Expected<std::string>();
  if (ec || !parsed.is_object() || !name || name->empty()) {
    co_await send_error(exchange, http::status::bad_request, "the body must be a JSON object with a \"name\"");
    co_return;
  }
  auto created = co_await m_writer.run([&] { return m_snapshots.create(*name, actor); });
  if (!created) {
    const bool taken = m_store.snapshot(*name).has_value();
    auto status = http::status::bad_request;
    if (taken) {
      status = http::status::conflict;
    }
    co_await send_error(exchange, status, created.error());
    co_return;
  }
  AIRLOCK_LOG(info, "{} created snapshot {} ({} projects, {} files)", actor, created->name, created->projects,
              created->files);
  co_await m_writer.run([&] { m_publish_snapshots(); });
  co_await send_json(exchange, http::status::created, snapshot_json(*created));
}

Awaitable<void>
AdminApi::show_snapshots(Exchange& exchange, std::string_view name)
{
  if (name.empty()) {
    json::array list;
    for (const auto& snapshot : m_store.snapshots()) {
      list.push_back(snapshot_json(snapshot));
    }
    json::object out;
    out["snapshots"] = std::move(list);
    co_await send_json(exchange, http::status::ok, out);
    co_return;
  }
  const auto snapshot = is_valid_snapshot_name(name) ? m_store.snapshot(name) : std::nullopt;
  if (!snapshot) {
    co_await send_error(exchange, http::status::not_found, fmt::format("no snapshot named {}", name));
    co_return;
  }
  json::object out = snapshot_json(*snapshot);
  json::array projects;
  for (const auto& project : m_store.snapshot_projects(snapshot->name)) {
    projects.push_back(json::value(project));
  }
  json::array files;
  for (const auto& file : m_snapshots.files(snapshot->name)) {
    json::object f;
    f["project"] = file.project;
    f["filename"] = file.filename;
    f["version"] = file.version;
    f["sha256"] = file.sha256.hex();
    f["size"] = file.size;
    f["url"] = "/files/" + file.sha256.hex() + "/" + file.filename;
    files.push_back(std::move(f));
  }
  out["project_names"] = std::move(projects);
  out["served_files"] = std::move(files);
  co_await send_json(exchange, http::status::ok, out);
}

} // namespace airlock::proxy
