// /-/api/v1/advisories: the records in force and what they block, one record, and imports.
#include "admin/admin_api.hpp"

#include "admin/api_json.hpp"
#include "advisories/feed.hpp"
#include "http/writer.hpp"

#include <airlock/policy/filename.hpp>
#include <airlock/util/log.hpp>

#include <boost/json.hpp>
#include <fmt/core.h>

#include <map>
#include <set>

namespace airlock::proxy {

namespace {

json::object
blocked_file_json(const storage::AdvisoryBlock& row)
{
  json::object out;
  out["project"] = row.project;
  out["version"] = row.version;
  out["filename"] = row.filename;
  out["sha256"] = row.sha256.hex();
  return out;
}

json::array
strings_json(const std::vector<std::string>& list)
{
  json::array out;
  for (const auto& item : list) {
    out.push_back(json::value(item));
  }
  return out;
}

const char*
event_name(policy::VersionRange::Event event)
{
  switch (event) {
  case policy::VersionRange::Event::introduced:
    return "introduced";
  case policy::VersionRange::Event::fixed:
    return "fixed";
  case policy::VersionRange::Event::last_affected:
    return "last_affected";
  case policy::VersionRange::Event::limit:
    return "limit";
  }
  return "unknown";
}

json::object
affected_json(const policy::AffectedProject& affected)
{
  json::object out;
  out["project"] = affected.project;
  out["versions"] = strings_json(affected.versions);
  json::array ranges;
  for (const auto& range : affected.ranges) {
    json::array events;
    for (const auto& [event, version] : range.events) {
      events.push_back(json::object{{event_name(event), version}});
    }
    ranges.push_back(json::object{{"type", "ECOSYSTEM"}, {"events", std::move(events)}});
  }
  out["ranges"] = std::move(ranges);
  out["fixed"] = strings_json(affected.fixed);
  out["every_version"] = affected.every_version;
  return out;
}

bool
truthy(std::string_view value)
{
  return value == "1" || value == "true" || value == "yes";
}

} // namespace

Awaitable<void>
AdminApi::list_advisories(Exchange& exchange)
{
  const std::string raw_project = query_param(exchange.query, "project");
  if (!raw_project.empty() && !policy::is_valid_project_name(raw_project)) {
    co_await send_error(exchange, http::status::bad_request, "\"project\" must be a valid project name");
    co_return;
  }
  const std::string project = raw_project.empty() ? "" : policy::normalize_project_name(raw_project);
  const auto advisories = m_policy.advisories();
  const auto state = m_advisories.state();
  // The records that name a project Airlock serves (or the one asked for), with what they block.
  auto listed = co_await m_reads.run([&] {
    std::map<std::string, json::object> out;
    const auto names = project.empty() ? m_store.project_names() : std::vector<std::string>{project};
    for (const auto& name : names) {
      for (const auto& match : advisories->for_project(name)) {
        auto [it, inserted] = out.try_emplace(match.advisory->id, json::object{});
        if (inserted) {
          it->second = advisory_json(*match.advisory);
          it->second["projects"] = json::array{};
          it->second["blocked_files"] = json::array{};
        }
        it->second["projects"].as_array().push_back(json::value(name));
      }
    }
    for (const auto& row : m_store.advisory_blocks()) {
      if (const auto found = out.find(row.advisory); found != out.end() && (project.empty() || row.project == project)) {
        found->second["blocked_files"].as_array().push_back(blocked_file_json(row));
      }
    }
    return out;
  });
  const std::set<std::string> held(state.held_ids.begin(), state.held_ids.end());
  json::array list;
  for (auto& [id, object] : listed) {
    object["held"] = held.contains(id);
    list.push_back(std::move(object));
  }
  json::object out;
  out["records"] = state.records;
  out["skipped"] = state.skipped;
  out["problems"] = strings_json(state.problems);
  out["blocked_files"] = state.blocked_files;
  out["newest_modified"] = time_or_null(state.newest_modified);
  out["loaded_at"] = time_or_null(state.loaded_at);
  out["held"] = json::object{{"ids", strings_json(state.held_ids)}, {"projects", strings_json(state.held_projects)}};
  out["guard_trips"] = state.guard_trips;
  out["warnings"] = strings_json(m_advisories.warnings(m_clock.now()));
  out["advisories"] = std::move(list);
  co_await send_json(exchange, http::status::ok, out);
}

Awaitable<void>
AdminApi::show_advisory(Exchange& exchange, std::string_view id)
{
  const auto advisories = m_policy.advisories();
  const auto* advisory = advisories->find(id);
  if (advisory == nullptr) {
    co_await send_error(exchange, http::status::not_found, fmt::format("no advisory {} is in force", id));
    co_return;
  }
  auto out = advisory_json(*advisory);
  json::array affected;
  for (const auto& entry : advisory->affected) {
    affected.push_back(affected_json(entry));
  }
  out["affected"] = std::move(affected);
  const std::string advisory_id = advisory->id;
  const auto rows = co_await m_reads.run([&] { return m_store.advisory_blocks(); });
  json::array blocked;
  for (const auto& row : rows) {
    if (row.advisory == advisory_id) {
      blocked.push_back(blocked_file_json(row));
    }
  }
  out["blocked_files"] = std::move(blocked);
  const auto state = m_advisories.state();
  out["held"] = std::find(state.held_ids.begin(), state.held_ids.end(), advisory_id) != state.held_ids.end();
  co_await send_json(exchange, http::status::ok, out);
}

Awaitable<void>
AdminApi::import_advisories(Exchange& exchange, const std::string& actor)
{
  const bool accept_large = truthy(query_param(exchange.query, "accept_large"));
  const std::string& body = exchange.request.body();
  if (body.empty() && !accept_large) {
    co_await send_error(exchange, http::status::bad_request,
                        "the body must be an OSV record or a zip of records (or accept_large=true alone)");
    co_return;
  }
  const Time now = m_clock.now();
  auto imported = co_await m_writer.run([&]() -> Expected<RefreshResult> {
    auto result = m_advisories.import(body, accept_large);
    if (result) {
      storage::AuditEntry entry;
      entry.time = now;
      entry.actor = actor;
      entry.action = "advisories-import";
      entry.reason = body.empty() ? "accepted the held refresh" : fmt::format("{} bytes; {}", body.size(), result->message);
      entry.before = "-";
      entry.after = result->applied ? "applied" : "held";
      m_store.append_audit(entry);
    }
    return result;
  });
  if (!imported) {
    co_await send_error(exchange, http::status::bad_request, imported.error());
    co_return;
  }
  AIRLOCK_LOG(info, "{} imported advisories: {}", actor, imported->message);
  json::object out;
  out["applied"] = imported->applied;
  out["records"] = imported->records;
  out["skipped"] = imported->skipped;
  out["blocked"] = imported->blocked;
  out["lifted"] = imported->lifted;
  out["held_projects"] = strings_json(imported->held_projects);
  out["message"] = imported->message;
  co_await send_json(exchange, http::status::ok, out);
}

} // namespace airlock::proxy
