// Counters and latency histograms of requests, the cache and upstream, rendered in the
// Prometheus text format for /-/metrics.
#include "http/metrics.hpp"

#include <fmt/core.h>

namespace airlock::proxy {

std::string_view
to_string(Route route)
{
  switch (route) {
  case Route::simple_root:
    return "simple_root";
  case Route::simple_project:
    return "simple_project";
  case Route::snapshot:
    return "snapshot";
  case Route::files:
    return "files";
  case Route::metadata:
    return "metadata";
  case Route::api:
    return "api";
  case Route::health:
    return "health";
  case Route::metrics:
    return "metrics";
  case Route::legacy_json:
    return "legacy_json";
  case Route::other:
  case Route::count:
    break;
  }
  return "other";
}

void
Metrics::record_request(Route route, unsigned status, double seconds, std::uint64_t bytes)
{
  auto& r = m_routes[static_cast<std::size_t>(route)];
  std::size_t s = k_statuses.size() - 1; // "other"
  for (std::size_t i = 0; i + 1 < k_statuses.size(); ++i) {
    if (k_statuses[i] == status) {
      s = i;
      break;
    }
  }
  r.by_status[s].fetch_add(1, std::memory_order_relaxed);
  std::size_t b = 0;
  while (b < k_buckets.size() && seconds > k_buckets[b]) {
    ++b;
  }
  r.buckets[b].fetch_add(1, std::memory_order_relaxed);
  r.micros.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
  r.bytes.fetch_add(bytes, std::memory_order_relaxed);
}

std::string
Metrics::render(std::string_view extra) const
{
  std::string out;
  out += "# HELP airlock_requests_total HTTP requests by route and status.\n";
  out += "# TYPE airlock_requests_total counter\n";
  for (std::size_t route = 0; route < k_routes; ++route) {
    const auto name = to_string(static_cast<Route>(route));
    for (std::size_t s = 0; s < k_statuses.size(); ++s) {
      const auto n = m_routes[route].by_status[s].load(std::memory_order_relaxed);
      if (n == 0) {
        continue;
      }
      const std::string status = k_statuses[s] == 0 ? "other" : std::to_string(k_statuses[s]);
      out += fmt::format("airlock_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", name, status, n);
    }
  }
  out += "# HELP airlock_request_duration_seconds Time to answer a request, by route.\n";
  out += "# TYPE airlock_request_duration_seconds histogram\n";
  for (std::size_t route = 0; route < k_routes; ++route) {
    const auto& r = m_routes[route];
    const auto name = to_string(static_cast<Route>(route));
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= k_buckets.size(); ++b) {
      cumulative += r.buckets[b].load(std::memory_order_relaxed);
      const std::string le = b < k_buckets.size() ? fmt::format("{}", k_buckets[b]) : "+Inf";
      out += fmt::format("airlock_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", name, le,
                         cumulative);
    }
    out += fmt::format("airlock_request_duration_seconds_sum{{route=\"{}\"}} {:.6f}\n", name,
                       static_cast<double>(r.micros.load(std::memory_order_relaxed)) / 1e6);
    out += fmt::format("airlock_request_duration_seconds_count{{route=\"{}\"}} {}\n", name, cumulative);
  }
  out += "# HELP airlock_bytes_served_total Response body bytes written, by route.\n";
  out += "# TYPE airlock_bytes_served_total counter\n";
  for (std::size_t route = 0; route < k_routes; ++route) {
    out += fmt::format("airlock_bytes_served_total{{route=\"{}\"}} {}\n", to_string(static_cast<Route>(route)),
                       m_routes[route].bytes.load(std::memory_order_relaxed));
  }
  const auto counter = [&](std::string_view name, std::string_view help, std::uint64_t value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, value);
  };
  counter("airlock_cache_hits_total", "Files served from the blob store.", m_cache_hits.load());
  counter("airlock_cache_misses_total", "Files fetched from upstream on a miss.", m_cache_misses.load());
  counter("airlock_rejected_downloads_total",
          "Upstream downloads refused: wrong sha256, wrong size, truncated or failed.", m_rejected_downloads.load());
  out += "# HELP airlock_upstream_errors_total Upstream failures, by what was fetched.\n";
  out += "# TYPE airlock_upstream_errors_total counter\n";
  out += fmt::format("airlock_upstream_errors_total{{kind=\"page\"}} {}\n", m_upstream_page_errors.load());
  out += fmt::format("airlock_upstream_errors_total{{kind=\"file\"}} {}\n", m_upstream_file_errors.load());
  counter("airlock_upstream_timeouts_total", "Upstream page requests that got no answer within [upstream] timeout.",
          m_upstream_timeouts.load());
  const auto failing = m_upstream_failing.load();
  out += fmt::format("# HELP airlock_upstream_up Whether upstream answered the last page request (1) or not (0).\n"
                     "# TYPE airlock_upstream_up gauge\nairlock_upstream_up {}\n"
                     "# HELP airlock_upstream_consecutive_failures Page requests upstream failed in a row.\n"
                     "# TYPE airlock_upstream_consecutive_failures gauge\nairlock_upstream_consecutive_failures {}\n",
                     failing == 0 ? 1 : 0, failing);
  counter("airlock_stale_listings_served_total",
          "Project pages served from the last good listing because upstream failed.", m_stale_listings.load());
  counter("airlock_connections_rejected_total", "Connections closed at once because [server] max_connections were open.",
          m_rejected_connections.load());
  out += "# HELP airlock_provenance_checks_total Provenance verdicts of the background checks.\n";
  out += "# TYPE airlock_provenance_checks_total counter\n";
  out += fmt::format("airlock_provenance_checks_total{{result=\"verified\"}} {}\n", m_provenance_verified.load());
  out += fmt::format("airlock_provenance_checks_total{{result=\"absent\"}} {}\n", m_provenance_absent.load());
  out += fmt::format("airlock_provenance_checks_total{{result=\"invalid\"}} {}\n", m_provenance_invalid.load());
  out += extra;
  return out;
}

} // namespace airlock::proxy
