#include "admin/admin_api.hpp"

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

namespace json = boost::json;

namespace {

constexpr std::size_t k_default_audit_limit = 1000;
constexpr std::size_t k_max_audit_limit = 100'000;
constexpr std::size_t k_max_reason = 2000;

json::value
time_or_null(const std::optional<Time>& time)
{
  return time ? json::value(format_rfc3339(*time)) : json::value(nullptr);
}

json::value
string_or_null(std::string_view text)
{
  return text.empty() ? json::value(nullptr) : json::value(text);
}

json::object
provenance_json(const storage::FileChecks* checks)
{
  json::object out;
  if (checks == nullptr || checks->provenance == storage::ProvenanceState::pending) {
    out["status"] = "pending";
    out["reason"] = "checks have not finished";
    return out;
  }
  switch (checks->provenance) {
  case storage::ProvenanceState::verified: {
    out["status"] = "verified";
    out["reason"] = nullptr;
    json::object publisher;
    publisher["kind"] = checks->publisher_kind;
    publisher["repository"] = string_or_null(checks->repository);
    publisher["workflow"] = string_or_null(checks->workflow);
    if (!checks->email.empty()) {
      publisher["email"] = checks->email;
    }
    out["publisher"] = std::move(publisher);
    out["signed_at"] = format_rfc3339(checks->signed_at);
    break;
  }
  case storage::ProvenanceState::absent:
    out["status"] = "absent";
    out["reason"] = checks->reason;
    break;
  case storage::ProvenanceState::invalid:
  case storage::ProvenanceState::pending:
    out["status"] = "invalid";
    out["reason"] = fmt::format("{}: {}", checks->reason_class, checks->reason);
    break;
  }
  return out;
}

json::value
sha256s_json(const std::vector<Sha256>& list)
{
  json::array out;
  for (const auto& sha256 : list) {
    out.push_back(json::value(sha256.hex()));
  }
  return out;
}

// The decision that speaks for a file, as status shows it; null when none does.
json::value
covered_by_json(const storage::Decision* decision)
{
  if (decision == nullptr) {
    return nullptr;
  }
  json::object out;
  out["action"] = decision->action == storage::DecisionAction::block ? "block" : "approve";
  out["scope"] = !decision->filename.empty() ? "file" : !decision->version.empty() ? "release" : "project";
  out["actor"] = decision->actor;
  out["time"] = format_rfc3339(decision->time);
  out["reason"] = decision->reason;
  return out;
}

json::object
file_json(const storage::FileRecord& file, const policy::Verdict& verdict, const policy::ProjectHistory& history,
          std::span<const storage::Decision> decisions)
{
  json::object out;
  out["filename"] = file.filename;
  out["version"] = file.version;
  out["sha256"] = file.sha256.hex();
  out["size"] = file.size;
  out["upload_time"] = time_or_null(file.upload_time);
  out["first_seen"] = format_rfc3339(file.first_seen);
  out["state"] = policy::to_string(verdict.state);
  out["reason"] = verdict.reason;
  out["until"] = time_or_null(verdict.until);
  out["yanked"] = file.yanked.has_value();
  if (file.yanked && !file.yanked->empty()) {
    out["yanked_reason"] = *file.yanked;
  }
  out["removed_upstream"] = time_or_null(file.removed_upstream);
  out["replaced_upstream"] = time_or_null(file.replaced_upstream);
  out["replaces"] = file.replaces ? json::value(file.replaces->hex()) : json::value(nullptr);
  out["backdated"] = file.backdated;
  out["covered_by"] = covered_by_json(policy::covering_decision(decisions, file));
  const auto* checks = history.checks(file);
  out["provenance"] = provenance_json(checks);
  if (checks != nullptr && checks->inspected) {
    json::object contents;
    json::array pth;
    for (const auto& startup : checks->executable_pth) {
      pth.push_back(json::value(startup.name));
    }
    json::array top_level;
    for (const auto& name : checks->top_level) {
      top_level.push_back(json::value(name));
    }
    contents["executable_pth"] = std::move(pth);
    contents["top_level"] = std::move(top_level);
    if (const auto* previous = history.preceding(file.version)) {
      json::array added;
      for (const auto& name : checks->top_level) {
        if (std::find(previous->top_level.begin(), previous->top_level.end(), name) == previous->top_level.end()) {
          added.push_back(json::value(name));
        }
      }
      contents["new_top_level"] = std::move(added);
    }
    contents["error"] = string_or_null(checks->inspection_error);
    out["contents"] = std::move(contents);
  }
  return out;
}

json::object
decision_json(const storage::Decision& decision)
{
  json::object out;
  out["action"] = decision.action == storage::DecisionAction::block ? "block" : "approve";
  out["version"] = string_or_null(decision.version);
  out["filename"] = string_or_null(decision.filename);
  out["actor"] = decision.actor;
  out["reason"] = decision.reason;
  out["time"] = format_rfc3339(decision.time);
  out["sha256"] = sha256s_json(decision.sha256s);
  return out;
}

json::object
audit_json(const storage::AuditEntry& entry)
{
  json::object out;
  out["id"] = entry.id;
  out["time"] = format_rfc3339(entry.time);
  out["actor"] = entry.actor;
  out["action"] = entry.action;
  out["project"] = string_or_null(entry.project);
  out["version"] = string_or_null(entry.version);
  out["filename"] = string_or_null(entry.filename);
  out["reason"] = entry.reason;
  out["before"] = entry.before;
  out["after"] = entry.after;
  if (!entry.sha256s.empty()) {
    out["sha256"] = sha256s_json(entry.sha256s);
  }
  return out;
}

Awaitable<void>
send_json(Exchange& exchange, http::status status, const json::value& value)
{
  std::string body = json::serialize(value);
  body += '\n';
  http::response<http::span_body<const char>> response{status, 11};
  response.set(http::field::content_type, "application/json");
  response.set(http::field::cache_control, "no-store");
  response.body() = {body.data(), body.size()};
  co_await send(exchange, response);
}

Awaitable<void>
send_error(Exchange& exchange, http::status status, std::string_view message)
{
  // Built before the co_await: GCC 12 cannot keep a braced initializer list across one.
  json::object body;
  body["error"] = message;
  co_await send_json(exchange, status, body);
}

// "approved" or "approved, quarantined": the distinct states of a set of verdicts.
std::string
summarize(const std::vector<policy::Verdict>& verdicts)
{
  std::string out;
  for (const auto& verdict : verdicts) {
    const auto name = policy::to_string(verdict.state);
    if (out.find(name) == std::string::npos) {
      out += out.empty() ? "" : ", ";
      out += name;
    }
  }
  return out.empty() ? "-" : out;
}

// A string member of a JSON request body: nullopt when absent, an error when not a string.
Expected<std::string>
string_member(const json::object& body, std::string_view key)
{
  const auto* value = body.if_contains(key);
  if (value == nullptr || value->is_null()) {
    return std::string();
  }
  if (!value->is_string()) {
    return make_unexpected(fmt::format("\"{}\" must be a string", key));
  }
  return std::string(value->as_string());
}

bool
same_scope(const storage::Decision& decision, std::string_view version, std::string_view filename)
{
  return decision.version == version && decision.filename == filename;
}

std::string
scope_text(std::string_view project, std::string_view version, std::string_view filename)
{
  if (!filename.empty()) {
    return fmt::format("{} file {}", project, filename);
  }
  if (!version.empty()) {
    return fmt::format("{} {}", project, version);
  }
  return fmt::format("{} (whole project)", project);
}

} // namespace

AdminApi::AdminApi(const policy::Policy& policy, const Clock& clock, storage::Store& store, ProjectIndex& index,
                   SnapshotService& snapshots, Writer& writer, std::function<void()> publish_snapshots)
  : m_policy(policy),
    m_clock(clock),
    m_store(store),
    m_index(index),
    m_snapshots(snapshots),
    m_writer(writer),
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
  const auto facts = load_facts(m_store, *listing);
  const auto verdicts = m_policy.decide_all(listing->files, facts.context(), m_clock.now());
  json::array files;
  for (std::size_t i = 0; i < listing->files.size(); ++i) {
    const auto& file = listing->files[i];
    if (!wanted.empty() && policy::release_key(file.version) != wanted_key) {
      continue;
    }
    files.push_back(file_json(file, verdicts[i], facts.history, facts.decisions));
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
  std::vector<Item> items;
  for_each_decided_project(m_store, m_policy, now, [&](const DecidedProject& project) {
    for (std::size_t i = 0; i < project.listing.files.size(); ++i) {
      const auto& file = project.listing.files[i];
      const auto& verdict = project.verdicts[i];
      // Old bytes upstream replaced wait for nobody: the listed ones are the question.
      if ((verdict.state != policy::State::quarantined && verdict.state != policy::State::held)
          || file.replaced_upstream) {
        continue;
      }
      auto object = file_json(file, verdict, project.facts.history, project.facts.decisions);
      object["project"] = project.listing.project.name;
      items.push_back({verdict.until, std::move(object)});
    }
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
AdminApi::decide(Exchange& exchange, std::string_view action, const std::string& actor)
{
  json::error_code ec;
  const auto parsed = json::parse(exchange.request.body(), ec);
  if (ec || !parsed.is_object()) {
    co_await send_error(exchange, http::status::bad_request, "the body must be a JSON object");
    co_return;
  }
  const auto& body = parsed.as_object();
  auto raw_project = string_member(body, "project");
  auto raw_version = string_member(body, "version");
  auto filename = string_member(body, "filename");
  auto reason = string_member(body, "reason");
  auto raw_sha256 = string_member(body, "sha256");
  for (const auto* field : {&raw_project, &raw_version, &filename, &reason, &raw_sha256}) {
    if (!*field) {
      co_await send_error(exchange, http::status::bad_request, field->error());
      co_return;
    }
  }
  if (!policy::is_valid_project_name(*raw_project)) {
    co_await send_error(exchange, http::status::bad_request, "\"project\" must be a valid project name");
    co_return;
  }
  if (reason->empty() || reason->size() > k_max_reason) {
    co_await send_error(exchange, http::status::bad_request,
                        fmt::format("\"reason\" is required (at most {} characters)", k_max_reason));
    co_return;
  }
  if (action == "approve" && raw_version->empty() && filename->empty()) {
    co_await send_error(exchange, http::status::bad_request,
                        "approve needs a version or a filename: a whole project is never approved");
    co_return;
  }
  std::optional<Sha256> sha256;
  if (!raw_sha256->empty()) {
    sha256 = Sha256::from_hex(*raw_sha256);
    if (!sha256 || filename->empty() || action != "approve") {
      co_await send_error(exchange, http::status::bad_request,
                          "\"sha256\" must be 64 hex digits, and goes with \"filename\" on approve only");
      co_return;
    }
  }
  // The bytes the reviewer saw: the approval fails when the release holds others by now.
  std::optional<std::set<Sha256>> expected;
  if (const auto* expect = body.if_contains("expect_sha256"); expect != nullptr && !expect->is_null()) {
    expected.emplace();
    const auto* list = expect->if_array();
    for (std::size_t i = 0; list != nullptr && i < list->size(); ++i) {
      const auto digest = (*list)[i].is_string() ? Sha256::from_hex((*list)[i].as_string()) : std::nullopt;
      if (!digest) {
        list = nullptr;
        break;
      }
      expected->insert(*digest);
    }
    if (list == nullptr || action != "approve") {
      co_await send_error(exchange, http::status::bad_request,
                          "\"expect_sha256\" must be an array of sha256 hex digests, on approve only");
      co_return;
    }
  }
  const std::string project = policy::normalize_project_name(*raw_project);
  // A file scope names the file alone; a release scope its canonical version.
  const std::string version = filename->empty() && !raw_version->empty() ? policy::release_key(*raw_version) : "";
  const std::string scope = scope_text(project, version.empty() ? *raw_version : version, *filename);

  (void)co_await m_index.project(project); // bring the listing up to date first
  const auto decided = decide_project(m_store, m_policy, project, m_clock.now());
  auto decisions = m_store.decisions(project);
  std::vector<std::size_t> affected;
  std::set<Sha256> bytes;
  if (decided) {
    const auto& files = decided->listing.files;
    for (std::size_t i = 0; i < files.size(); ++i) {
      const auto& file = files[i];
      const bool covered = !filename->empty() ? file.filename == *filename && (!sha256 || file.sha256 == *sha256)
                           : !version.empty() ? policy::release_key(file.version) == version
                                              : true;
      if (covered) {
        affected.push_back(i);
        bytes.insert(file.sha256);
      }
    }
  }
  if (affected.empty() && (action == "approve" || !filename->empty())) {
    // Built before the co_await: GCC 12 miscompiles conditional temporaries inside one.
    std::string message = fmt::format("no files of {} are known", scope);
    if (sha256) {
      message = fmt::format("no file {} of {} has sha256 {}", *filename, project, sha256->hex());
    }
    co_await send_error(exchange, http::status::not_found, message);
    co_return;
  }
  if (action == "approve" && !filename->empty() && !sha256 && bytes.size() > 1) {
    std::string list;
    for (const auto& digest : bytes) {
      list += (list.empty() ? "" : ", ") + digest.hex();
    }
    co_await send_error(exchange, http::status::bad_request,
                        fmt::format("{} has had more than one sha256 ({}): name the bytes to approve with --sha256",
                                    *filename, list));
    co_return;
  }
  if (expected && *expected != bytes) {
    co_await send_error(exchange, http::status::conflict,
                        fmt::format("the files of {} are not the ones you reviewed: {} of them now, {} expected; "
                                    "look again with airlock status",
                                    scope, bytes.size(), expected->size()));
    co_return;
  }
  const auto existing = std::find_if(decisions.begin(), decisions.end(), [&](const storage::Decision& d) {
    return same_scope(d, version, *filename);
  });
  if (action == "approve" && existing != decisions.end() && existing->action == storage::DecisionAction::block) {
    co_await send_error(exchange, http::status::conflict, fmt::format("{} is blocked; unblock it first", scope));
    co_return;
  }
  if (action == "unblock" && (existing == decisions.end() || existing->action != storage::DecisionAction::block)) {
    co_await send_error(exchange, http::status::not_found,
                        fmt::format("{} is not blocked at that scope", scope));
    co_return;
  }

  const Time now = m_clock.now();
  const auto verdicts = [&](const std::vector<storage::Decision>& with) {
    const auto& listing = decided->listing;
    const policy::ProjectContext context{with, listing.project.status, &decided->facts.history};
    const auto all = m_policy.decide_all(listing.files, context, now);
    std::vector<policy::Verdict> out;
    for (const auto i : affected) {
      out.push_back(all[i]);
    }
    return out;
  };
  const auto before = decided ? verdicts(decisions) : std::vector<policy::Verdict>{};
  storage::Decision decision{project,
                             version,
                             *filename,
                             action == "approve" ? storage::DecisionAction::approve : storage::DecisionAction::block,
                             actor,
                             *reason,
                             now,
                             {}};
  if (action == "approve") {
    decision.sha256s.assign(bytes.begin(), bytes.end()); // sorted, as std::set keeps them
  }
  if (existing != decisions.end()) {
    decisions.erase(existing);
  }
  if (action != "unblock") {
    decisions.push_back(decision);
  }
  const auto after = decided ? verdicts(decisions) : std::vector<policy::Verdict>{};

  storage::AuditEntry entry;
  entry.time = now;
  entry.actor = actor;
  entry.action = std::string(action);
  entry.project = project;
  entry.version = version;
  entry.filename = *filename;
  entry.reason = *reason;
  entry.before = summarize(before);
  entry.after = summarize(after);
  entry.sha256s = decision.sha256s;
  // A block withholds its files from the snapshots that froze them: the audit log says which,
  // in the decision's own transaction.
  std::vector<std::string> withheld;
  if (action == "block") {
    for (const auto i : affected) {
      withheld.push_back(decided->listing.files[i].filename);
    }
  }
  const auto appended = co_await m_writer.run([&] {
    return action == "unblock" ? m_store.remove_decision(project, version, *filename, entry)
                               : m_store.put_decision(decision, entry, withheld);
  });
  m_index.invalidate(project);
  m_snapshots.invalidate();
  if (action != "approve") {
    co_await m_writer.run([&] { m_publish_snapshots(); }); // what snapshots withhold may have changed
  }
  AIRLOCK_LOG(info, "{} {} {}: {} -> {} ({})", actor, action, scope, entry.before, entry.after, *reason);

  json::array files;
  for (size_t i = 0; i < affected.size(); ++i) {
    // covered_by as decided after the change: it names the new decision.
    files.push_back(file_json(decided->listing.files[affected[i]], after[i], decided->facts.history, decisions));
  }
  json::object out;
  out["project"] = project;
  out["action"] = action;
  out["version"] = string_or_null(version);
  out["filename"] = string_or_null(*filename);
  out["before"] = entry.before;
  out["after"] = entry.after;
  out["audit_id"] = appended.id;
  out["sha256"] = sha256s_json(decision.sha256s);
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
