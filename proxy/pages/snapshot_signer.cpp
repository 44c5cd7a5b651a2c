// Signing the snapshots as TUF targets: at start, a second after changes settle, and before
// metadata expires; all of it on the writer thread.
#include "pages/snapshot_signer.hpp"

#include <airlock/util/log.hpp>

#include <fmt/core.h>

#include <filesystem>

namespace airlock::proxy {

namespace {

std::unique_ptr<tuf::Repository>
open_repository(const Config& config)
{
  const auto dir = config.storage.path / "tuf";
  if (!std::filesystem::exists(dir)) {
    return nullptr;
  }
  auto repository = tuf::Repository::open(dir);
  if (!repository) {
    throw ConfigError(fmt::format("TUF repository {}: {}", dir.string(), repository.error()));
  }
  return std::move(*repository);
}

} // namespace

SnapshotSigner::SnapshotSigner(const Config& config, const Clock& clock, SnapshotService& snapshots, Writer& writer,
                               net::io_context& ioc)
  : m_clock(clock),
    m_snapshots(snapshots),
    m_writer(writer),
    m_ioc(ioc),
    m_repository(open_repository(config))
{
}

SnapshotSigner::~SnapshotSigner() = default;

std::optional<std::string>
SnapshotSigner::metadata(std::string_view name) const
{
  if (!m_repository) {
    return std::nullopt;
  }
  return m_repository->metadata(name);
}

void
SnapshotSigner::publish()
{
  if (!m_repository) {
    return;
  }
  if (auto published = m_repository->publish(m_snapshots.tuf_targets(), m_clock.now()); !published) {
    AIRLOCK_LOG(error, "TUF: cannot publish the snapshots' metadata: {}", published.error());
  }
}

void
SnapshotSigner::publish_soon()
{
  if (!m_repository || m_stopping || m_pending.exchange(true)) {
    return;
  }
  net::co_spawn(m_ioc, publish_later(), net::detached);
}

Awaitable<void>
SnapshotSigner::publish_later()
{
  net::steady_timer timer(m_ioc, std::chrono::seconds{1});
  co_await timer.async_wait(use_tuple);
  m_pending = false; // a change from now on schedules another publication
  if (m_stopping) {
    co_return;
  }
  co_await m_writer.run([this] { publish(); });
}

Awaitable<void>
SnapshotSigner::keep_fresh()
{
  net::steady_timer timer(m_ioc);
  while (!m_stopping && m_repository) {
    co_await m_writer.run([&] {
      if (auto refreshed = m_repository->refresh(m_clock.now(), std::chrono::hours{6}); !refreshed) {
        AIRLOCK_LOG(error, "TUF: cannot re-sign expiring metadata: {}", refreshed.error());
      }
    });
    timer.expires_after(std::chrono::minutes{10});
    co_await timer.async_wait(use_tuple);
  }
}

} // namespace airlock::proxy
