#pragma once

// Private to proxy/: the /tuf/ routes, metadata and targets (consistent snapshots), for
// clients that verify what a snapshot serves.

#include "files/files.hpp"
#include "http/exchange.hpp"
#include "pages/snapshot_signer.hpp"
#include "pages/snapshots.hpp"

#include <span>
#include <string_view>

namespace airlock::proxy {

class TufRoutes
{
public:
  TufRoutes(storage::Store& store, SnapshotSigner& signer, SnapshotService& snapshots, FileService& files);

  // GET /tuf/<segments...>: metadata/<file>, or targets/<dir>/<sha256>.<name>; 404 for what
  // is not signed, not cached, or changed since it was signed.
  Awaitable<void> serve(Exchange& exchange, std::span<const std::string_view> segments);

private:
  storage::Store& m_store;
  SnapshotSigner& m_signer;
  SnapshotService& m_snapshots;
  FileService& m_files;
};

} // namespace airlock::proxy
