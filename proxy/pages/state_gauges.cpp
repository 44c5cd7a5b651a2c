// airlock_files{state=...}: how many upstream files Airlock knows in each state, decided as the
// pages decide them.
#include "pages/state_gauges.hpp"

#include "pages/facts.hpp"

#include <fmt/core.h>

#include <array>

namespace airlock::proxy {

namespace {

constexpr std::chrono::seconds k_gauge_ttl{30};

} // namespace

StateGauges::StateGauges(const storage::Store& store, const policy::Policy& policy, const Clock& clock,
                         Writer& worker)
  : m_store(store), m_policy(policy), m_clock(clock), m_worker(worker)
{
}

Awaitable<std::string>
StateGauges::render()
{
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(m_mutex);
    if (!m_text.empty() && now - m_at < k_gauge_ttl) {
      co_return m_text;
    }
  }
  std::string text = co_await m_worker.run([this] { return count(); });
  std::lock_guard lock(m_mutex);
  m_text = text;
  m_at = now;
  co_return text;
}

std::string
StateGauges::count() const
{
  std::array<std::uint64_t, 4> counts{};
  for_each_decided_project(m_store, m_policy, m_clock.now(), [&](const DecidedProject& project) {
    for (const auto& verdict : project.verdicts) {
      ++counts[static_cast<std::size_t>(verdict.state)];
    }
  });
  std::string out = "# HELP airlock_files Upstream files Airlock knows, by state.\n# TYPE airlock_files gauge\n";
  for (const auto state :
       {policy::State::approved, policy::State::quarantined, policy::State::held, policy::State::blocked}) {
    out += fmt::format("airlock_files{{state=\"{}\"}} {}\n", policy::to_string(state),
                       counts[static_cast<std::size_t>(state)]);
  }
  return out;
}

} // namespace airlock::proxy
