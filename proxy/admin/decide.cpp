// POST approve, block and unblock: a reviewer's decision, bound to the bytes it covers, with
// its audit entry and what it changed for every file in its scope.
#include "admin/admin_api.hpp"

#include "admin/api_json.hpp"
#include "advisories/feed.hpp"
#include "http/writer.hpp"
#include "pages/facts.hpp"
#include "pages/project_index.hpp"
#include "pages/snapshots.hpp"

#include <airlock/policy/filename.hpp>
#include <airlock/util/log.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <set>

namespace airlock::proxy {

namespace {

constexpr std::size_t k_max_reason = 2000;

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
    if (!sha256 || filename->empty() || action == "block") {
      co_await send_error(exchange, http::status::bad_request,
                          "\"sha256\" must be 64 hex digits, and goes with \"filename\" on approve and unblock only");
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
  auto decisions = decided ? decided->facts.decisions : m_store.decisions(project);
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
  // Unblocking a file that advisories block sets them aside for its bytes: a decision of its own.
  const bool removes_block = existing != decisions.end() && existing->action == storage::DecisionAction::block;
  bool over_advisories = false;
  if (action == "unblock" && !removes_block && !filename->empty()) {
    for (const auto i : affected) {
      const auto& file = decided->listing.files[i];
      over_advisories = over_advisories
                        || !policy::blocking_advisories(file, decided->facts.context(), m_policy.options().block_severity)
                              .empty();
    }
    if (over_advisories && bytes.size() > 1) {
      co_await send_error(exchange, http::status::bad_request,
                          fmt::format("{} has had more than one sha256: name the bytes to unblock with --sha256",
                                      *filename));
      co_return;
    }
  }
  if (action == "unblock" && !removes_block && !over_advisories) {
    co_await send_error(exchange, http::status::not_found,
                        fmt::format("{} is not blocked at that scope", scope));
    co_return;
  }

  const Time now = m_clock.now();
  const auto verdicts = [&](const std::vector<storage::Decision>& with) {
    const auto& listing = decided->listing;
    const policy::ProjectContext context{with, listing.project.status, &decided->facts.history, decided->facts.matches};
    const auto all = m_policy.decide_all(listing.files, context, now);
    std::vector<policy::Verdict> out;
    for (const auto i : affected) {
      out.push_back(all[i]);
    }
    return out;
  };
  std::vector<policy::Verdict> before; // as decide_project decided them, before this decision
  for (const auto i : affected) {
    before.push_back(decided->verdicts[i]);
  }
  const auto kind = action == "approve" ? storage::DecisionAction::approve
                    : action == "block"  ? storage::DecisionAction::block
                                         : storage::DecisionAction::unblock;
  storage::Decision decision{project, version, *filename, kind, actor, *reason, now, {}};
  if (kind != storage::DecisionAction::block) {
    decision.sha256s.assign(bytes.begin(), bytes.end()); // sorted, as std::set keeps them
  }
  if (existing != decisions.end()) {
    decisions.erase(existing);
  }
  if (!removes_block || action != "unblock") {
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
  // An unblock over advisories also ends their rows for these bytes: the feed records them only
  // when it refreshes, which a decision does not cause, and list, show and the metrics read them.
  std::vector<storage::FileKey> set_aside;
  if (over_advisories) {
    for (const auto i : affected) {
      set_aside.push_back(storage::FileKey{decided->listing.files[i].filename, decided->listing.files[i].sha256});
    }
  }
  const auto appended = co_await m_writer.run([&] {
    auto stored = action == "unblock" && removes_block ? m_store.remove_decision(project, version, *filename, entry)
                                                       : m_store.put_decision(decision, entry, withheld);
    m_advisories.set_aside(project, set_aside);
    return stored;
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
    files.push_back(
      file_json(decided->listing.files[affected[i]], after[i], decided->facts.history, decisions, decided->facts.matches));
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

} // namespace airlock::proxy
