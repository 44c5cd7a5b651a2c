#pragma once

// Private to proxy/: the admin API's JSON: the shapes `airlock ... --json` prints (files,
// decisions, audit entries) and the answers and errors every endpoint sends.

#include "http/exchange.hpp"

#include <airlock/policy/policy.hpp>
#include <airlock/storage/records.hpp>
#include <airlock/util/error.hpp>

#include <boost/json.hpp>

#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace airlock::proxy {

namespace json = boost::json;

json::value time_or_null(const std::optional<Time>& time);
json::value string_or_null(std::string_view text);
// A file as status and queue show it: its bytes, state, reason, until, provenance, contents,
// and covered_by, the decision that speaks for it (null when none).
json::object file_json(const storage::FileRecord& file, const policy::Verdict& verdict,
                       const policy::ProjectHistory& history, std::span<const storage::Decision> decisions,
                       std::span<const policy::Advisories::Match> advisories);
// An advisory as status, the queue and `advisories list` show it.
json::object advisory_json(const policy::Advisory& advisory);
// What the advisories of a project say about one file: those naming its version.
json::array file_advisories_json(const storage::FileRecord& file, std::span<const policy::Advisories::Match> advisories);
// "approve", "block" or "unblock".
std::string_view action_name(storage::DecisionAction action);
json::object decision_json(const storage::Decision& decision);
json::object audit_json(const storage::AuditEntry& entry);
// A list of sha256s as hex strings.
json::value sha256s_json(const std::vector<Sha256>& list);
// Sends a JSON answer (no-store), or {"error": message}.
Awaitable<void> send_json(Exchange& exchange, http::status status, const json::value& value);
Awaitable<void> send_error(Exchange& exchange, http::status status, std::string_view message);
// A string member of a JSON request body: "" when absent or null, an error when not a string.
Expected<std::string> string_member(const json::object& body, std::string_view key);

} // namespace airlock::proxy
