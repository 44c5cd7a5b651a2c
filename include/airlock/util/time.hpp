#pragma once

// Time as Airlock keeps it (whole seconds, UTC), the injected Clock with a manual one for tests,
// and the RFC 3339 and HTTP date formats.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace airlock {

using Time = std::chrono::sys_seconds;
using Seconds = std::chrono::seconds;

// The source of "now". Injected everywhere, so tests never sleep.
class Clock
{
public:
  virtual ~Clock() = default;
  virtual Time now() const = 0;
};

class SystemClock final : public Clock
{
public:
  Time now() const override;
};

// A clock that tests set and advance by hand. Thread-safe.
class ManualClock final : public Clock
{
public:
  explicit ManualClock(Time start);
  Time now() const override;
  void set(Time t);
  void advance(Seconds d);

private:
  std::atomic<std::int64_t> m_now;
};

// Formats as RFC 3339 UTC: "2026-03-24T10:39:00Z".
std::string format_rfc3339(Time t);
// Parses RFC 3339 / ISO 8601 date-times ("2026-03-24T10:39:00.123456Z", "+00:00" offsets);
// fractions are truncated. Returns nullopt on anything else.
std::optional<Time> parse_rfc3339(std::string_view text);
// Formats an IMF-fixdate for HTTP headers: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string format_http_date(Time t);

} // namespace airlock
