// The admin API's JSON: files with their verdicts and the decisions that cover them, decisions,
// audit entries, and the answer every endpoint sends.
#include "admin/api_json.hpp"

#include <airlock/util/units.hpp>

#include <fmt/core.h>

#include <algorithm>

namespace airlock::proxy {

namespace {
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
covered_by_json(const storage::Decision* decision)
{
  if (decision == nullptr) {
    return nullptr;
  }
  json::object out;
  out["action"] = action_name(decision->action);
  out["scope"] = !decision->filename.empty() ? "file" : !decision->version.empty() ? "release" : "project";
  out["actor"] = decision->actor;
  out["time"] = format_rfc3339(decision->time);
  out["reason"] = decision->reason;
  return out;
}

} // namespace

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

json::object
file_json(const storage::FileRecord& file, const policy::Verdict& verdict, const policy::ProjectHistory& history,
          std::span<const storage::Decision> decisions, std::span<const policy::Advisories::Match> advisories)
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
  out["advisories"] = file_advisories_json(file, advisories);
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

std::string_view
action_name(storage::DecisionAction action)
{
  switch (action) {
  case storage::DecisionAction::approve:
    return "approve";
  case storage::DecisionAction::block:
    return "block";
  case storage::DecisionAction::unblock:
    return "unblock";
  }
  return "unknown";
}

json::object
advisory_json(const policy::Advisory& advisory)
{
  json::object out;
  out["id"] = advisory.id;
  json::array aliases;
  for (const auto& alias : advisory.aliases) {
    aliases.push_back(json::value(alias));
  }
  out["aliases"] = std::move(aliases);
  out["summary"] = advisory.summary;
  out["severity"] = advisory.severity == policy::Severity::none ? json::value(nullptr)
                                                                 : json::value(policy::to_string(advisory.severity));
  out["cvss_score"] = advisory.cvss_score ? json::value(*advisory.cvss_score) : json::value(nullptr);
  out["malicious"] = advisory.malicious;
  out["modified"] = format_rfc3339(advisory.modified);
  out["withdrawn"] = time_or_null(advisory.withdrawn);
  return out;
}

json::array
file_advisories_json(const storage::FileRecord& file, std::span<const policy::Advisories::Match> advisories)
{
  json::array out;
  const auto version = policy::Version::parse(file.version);
  for (const auto& match : advisories) {
    if (!match.matches(version, file.version)) {
      continue;
    }
    auto object = advisory_json(*match.advisory);
    json::array fixed;
    for (const auto& fix : match.affected->fixed) {
      fixed.push_back(json::value(fix));
    }
    object["fixed"] = std::move(fixed);
    object["every_version"] = match.affected->every_version;
    out.push_back(std::move(object));
  }
  return out;
}

json::object
decision_json(const storage::Decision& decision)
{
  json::object out;
  out["action"] = action_name(decision.action);
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

} // namespace airlock::proxy
