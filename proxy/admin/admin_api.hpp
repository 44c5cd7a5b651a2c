#pragma once

// Private to proxy/: the JSON admin API under /-/api/v1/ (DESIGN.md "Contracts").

#include "http/exchange.hpp"

#include <airlock/policy/policy.hpp>
#include <airlock/storage/store.hpp>

#include <functional>
#include <span>
#include <string_view>

namespace airlock::proxy {

class AdvisoryFeed;
class ProjectIndex;
class SnapshotService;
class Writer;

// Project status, the review queue, approve/block/unblock, the audit log, tokens and advisories.
// Bearer tokens with roles reader < reviewer < admin: 401 without a valid token, 403 when
// the role is too low; every refusal leaves state unchanged. Thread-safe.
class AdminApi
{
public:
  // `publish_snapshots` re-signs what snapshots serve (TUF); it runs on the writer thread.
  AdminApi(const policy::Policy& policy, const Clock& clock, storage::Store& store, ProjectIndex& index,
           SnapshotService& snapshots, Writer& writer, Writer& reads, AdvisoryFeed& advisories,
           std::function<void()> publish_snapshots);

  // Serves one request; `segments` are the path segments after /-/api/v1/.
  Awaitable<void> handle(Exchange& exchange, std::span<const std::string_view> segments);

private:
  Awaitable<void> status(Exchange& exchange, std::string_view project);
  Awaitable<void> queue(Exchange& exchange);
  Awaitable<void> decide(Exchange& exchange, std::string_view action, const std::string& actor);
  Awaitable<void> audit(Exchange& exchange);
  Awaitable<void> create_token(Exchange& exchange, const std::string& actor);
  Awaitable<void> create_snapshot(Exchange& exchange, const std::string& actor);
  Awaitable<void> show_snapshots(Exchange& exchange, std::string_view name);
  // advisories_api.cpp
  Awaitable<void> list_advisories(Exchange& exchange);
  Awaitable<void> show_advisory(Exchange& exchange, std::string_view id);
  Awaitable<void> import_advisories(Exchange& exchange, const std::string& actor);

  const policy::Policy& m_policy;
  const Clock& m_clock;
  storage::Store& m_store;
  ProjectIndex& m_index;
  SnapshotService& m_snapshots;
  Writer& m_writer;
  Writer& m_reads; // heavy reads (the queue decides every project)
  AdvisoryFeed& m_advisories;
  std::function<void()> m_publish_snapshots;
};

} // namespace airlock::proxy
