#pragma once

// Private to proxy/: counters for /-/metrics (Prometheus text format). Updates are relaxed
// atomics, so recording never takes a lock on the request path.

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace airlock::proxy {

enum class Route : std::uint8_t {
  simple_root,
  simple_project,
  snapshot,
  files,
  metadata,
  api,
  health,
  metrics,
  legacy_json,
  other,
  count
};

std::string_view to_string(Route route);

class Metrics
{
public:
  void record_request(Route route, unsigned status, double seconds, std::uint64_t bytes);
  void count_cache_hit() { m_cache_hits.fetch_add(1, std::memory_order_relaxed); }
  void count_cache_miss() { m_cache_misses.fetch_add(1, std::memory_order_relaxed); }
  void count_rejected_download() { m_rejected_downloads.fetch_add(1, std::memory_order_relaxed); }
  void count_upstream_error(bool page)
  {
    (page ? m_upstream_page_errors : m_upstream_file_errors).fetch_add(1, std::memory_order_relaxed);
  }
  void count_stale_listing_served() { m_stale_listings.fetch_add(1, std::memory_order_relaxed); }
  // What upstream's last page request did: answered (any HTTP status), failed, or timed out.
  void note_upstream_page(bool answered, bool timed_out)
  {
    if (answered) {
      m_upstream_failing.store(0, std::memory_order_relaxed);
      return;
    }
    m_upstream_failing.fetch_add(1, std::memory_order_relaxed);
    if (timed_out) {
      m_upstream_timeouts.fetch_add(1, std::memory_order_relaxed);
    }
  }
  void count_rejected_connection() { m_rejected_connections.fetch_add(1, std::memory_order_relaxed); }
  // result: "verified", "absent" or "invalid".
  void count_provenance(std::string_view result)
  {
    auto& counter = result == "verified" ? m_provenance_verified
                    : result == "absent" ? m_provenance_absent
                                         : m_provenance_invalid;
    counter.fetch_add(1, std::memory_order_relaxed);
  }

  // The counters in Prometheus text exposition format; `extra` (gauges computed by the
  // caller at scrape time) is appended as is.
  std::string render(std::string_view extra) const;

private:
  static constexpr std::array<double, 14> k_buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                       0.1,    0.25,  0.5,    1,     2.5,   5,     10};
  static constexpr std::array<unsigned, 19> k_statuses = {200, 206, 301, 302, 304, 400, 401, 403, 404, 405,
                                                          406, 409, 413, 416, 431, 500, 502, 503, 0};
  static constexpr std::size_t k_routes = static_cast<std::size_t>(Route::count);

  struct PerRoute
  {
    std::array<std::atomic<std::uint64_t>, k_statuses.size()> by_status{};
    std::array<std::atomic<std::uint64_t>, k_buckets.size() + 1> buckets{}; // the last is +Inf
    std::atomic<std::uint64_t> micros{0};
    std::atomic<std::uint64_t> bytes{0};
  };

  std::array<PerRoute, k_routes> m_routes{};
  std::atomic<std::uint64_t> m_cache_hits{0};
  std::atomic<std::uint64_t> m_cache_misses{0};
  std::atomic<std::uint64_t> m_rejected_downloads{0};
  std::atomic<std::uint64_t> m_upstream_page_errors{0};
  std::atomic<std::uint64_t> m_upstream_file_errors{0};
  std::atomic<std::uint64_t> m_stale_listings{0};
  std::atomic<std::uint64_t> m_upstream_failing{0}; // page requests failed in a row
  std::atomic<std::uint64_t> m_upstream_timeouts{0};
  std::atomic<std::uint64_t> m_rejected_connections{0};
  std::atomic<std::uint64_t> m_provenance_verified{0};
  std::atomic<std::uint64_t> m_provenance_absent{0};
  std::atomic<std::uint64_t> m_provenance_invalid{0};
};

} // namespace airlock::proxy
