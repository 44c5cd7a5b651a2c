#pragma once

// Private to proxy/: the files-by-state gauges of /-/metrics: every project decided, at most
// every 30 s, on a worker thread rather than an I/O thread.

#include "http/net.hpp"
#include "http/writer.hpp"

#include <airlock/policy/policy.hpp>
#include <airlock/storage/store.hpp>

#include <chrono>
#include <mutex>
#include <string>

namespace airlock::proxy {

class StateGauges
{
public:
  // `worker` runs the counting: it reads the whole store.
  StateGauges(const storage::Store& store, const policy::Policy& policy, const Clock& clock, Writer& worker);

  // The gauges in Prometheus text format, counted anew when older than 30 s.
  Awaitable<std::string> render();

private:
  std::string count() const;

  const storage::Store& m_store;
  const policy::Policy& m_policy;
  const Clock& m_clock;
  Writer& m_worker;
  std::mutex m_mutex;
  std::string m_text;
  std::chrono::steady_clock::time_point m_at{};
};

} // namespace airlock::proxy
