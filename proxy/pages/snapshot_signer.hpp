#pragma once

// Private to proxy/: TUF over the snapshots: the repository `airlock keys init` made, signing
// what snapshots serve when it changes, and re-signing metadata before it expires.

#include "http/net.hpp"
#include "http/writer.hpp"
#include "pages/snapshots.hpp"

#include <airlock/proxy/config.hpp>
#include <airlock/tuf/repository.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace airlock::proxy {

// Thread-safe; signing runs on the writer thread.
class SnapshotSigner
{
public:
  // Opens <data>/tuf when it exists (else signing is off); throws ConfigError when it exists
  // but cannot be opened.
  SnapshotSigner(const Config& config, const Clock& clock, SnapshotService& snapshots, Writer& writer,
                 net::io_context& ioc);
  ~SnapshotSigner();

  // False until `airlock keys init`.
  bool enabled() const { return m_repository != nullptr; }
  // A metadata file as served under /tuf/metadata/; nullopt when there is none.
  std::optional<std::string> metadata(std::string_view name) const;
  // Signs the current targets of every snapshot now (call on the writer thread).
  void publish();
  // Signs once a burst of changes (background checks ending) has settled, a second later.
  void publish_soon();
  // Re-signs metadata before it expires, every 10 minutes until stop().
  Awaitable<void> keep_fresh();
  // Stops scheduling: what is pending is dropped.
  void stop() { m_stopping = true; }

private:
  Awaitable<void> publish_later();

  const Clock& m_clock;
  SnapshotService& m_snapshots;
  Writer& m_writer;
  net::io_context& m_ioc;
  std::unique_ptr<tuf::Repository> m_repository; // null until `airlock keys init`
  std::atomic<bool> m_pending{false};
  std::atomic<bool> m_stopping{false};
};

} // namespace airlock::proxy
