#pragma once

// The Airlock server: binds, serves until stopped, drains; what `airlock serve` and the
// integration tests run.

#include <airlock/proxy/config.hpp>
#include <airlock/storage/store.hpp>
#include <airlock/util/time.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace airlock::proxy {

enum class HandleSignals { yes, no };

// Settings that only tests change.
struct ServerTestHooks
{
  std::string upstream_ca_file; // trust this CA for upstream TLS, besides the system store
  // false: a stale listing is refreshed before the request is answered, as tests that advance
  // a fake clock and look at once expect; true (production): in the background.
  bool stale_while_revalidate = true;
};

// The Airlock HTTP server: index, files, admin API. Owns the store of config.storage.path.
class Server
{
public:
  // Opens the store; throws Error (StorageError, ...) with a one-line message when it cannot.
  Server(Config config, const Clock& clock, ServerTestHooks hooks = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds [server] listen; throws Error naming the address when it cannot. Returns the port
  // (the chosen one when the configured port is 0).
  std::uint16_t bind();
  // Serves on the configured number of threads until stop(), or SIGINT/SIGTERM when
  // `signals` is yes; then drains in-flight requests and returns. Call bind() first.
  void run(HandleSignals signals);
  // Asks run() to drain and return. Thread-safe.
  void stop();

  storage::Store& store();
  // Waits until the background checks have nothing queued or running, at most `limit`;
  // true when idle. For tests, which must not race the checks.
  bool wait_for_checks(std::chrono::milliseconds limit = std::chrono::seconds{30});

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace airlock::proxy
