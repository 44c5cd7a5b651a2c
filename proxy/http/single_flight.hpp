#pragma once

// Private to proxy/: one coroutine does the work for a key while the others wait for it.

#include "http/net.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace airlock::proxy {

class SingleFlight
{
public:
  // RAII leadership: finishing (or destroying) it wakes every waiter.
  class Lead
  {
  public:
    Lead() = default;
    Lead(SingleFlight* owner, std::string key) : m_owner(owner), m_key(std::move(key)) {}
    Lead(Lead&& other) noexcept : m_owner(std::exchange(other.m_owner, nullptr)), m_key(std::move(other.m_key)) {}
    Lead& operator=(Lead&&) = delete;
    ~Lead()
    {
      if (m_owner != nullptr) {
        m_owner->finish(m_key);
      }
    }
    explicit operator bool() const { return m_owner != nullptr; }

  private:
    SingleFlight* m_owner = nullptr;
    std::string m_key;
  };

  // Returns a live Lead when the caller is first for `key` and must do the work; otherwise
  // waits until the current leader finishes and returns an empty Lead (the caller re-checks
  // what the leader produced).
  Awaitable<Lead> join(std::string key)
  {
    auto executor = co_await net::this_coro::executor;
    auto waiter = std::make_shared<Waiter>(executor);
    {
      std::lock_guard lock(m_mutex);
      auto [it, inserted] = m_flights.try_emplace(key);
      if (inserted) {
        co_return Lead(this, std::move(key));
      }
      it->second.push_back(waiter);
    }
    // The leader cancels the timer; the short expiry only guards against a cancel that lands
    // before the wait began.
    for (;;) {
      waiter->timer.expires_after(std::chrono::milliseconds(200));
      co_await waiter->timer.async_wait(use_tuple);
      std::lock_guard lock(m_mutex);
      if (waiter->finished) {
        co_return Lead();
      }
    }
  }

private:
  struct Waiter
  {
    explicit Waiter(net::any_io_executor executor) : timer(executor) {}
    net::steady_timer timer;
    bool finished = false; // guarded by SingleFlight::m_mutex
  };

  void finish(const std::string& key)
  {
    std::vector<std::shared_ptr<Waiter>> waiters;
    {
      std::lock_guard lock(m_mutex);
      auto it = m_flights.find(key);
      if (it == m_flights.end()) {
        return;
      }
      waiters = std::move(it->second);
      m_flights.erase(it);
      for (auto& waiter : waiters) {
        waiter->finished = true;
      }
    }
    for (auto& waiter : waiters) {
      net::post(waiter->timer.get_executor(), [waiter] { waiter->timer.cancel(); });
    }
  }

  std::mutex m_mutex;
  std::unordered_map<std::string, std::vector<std::shared_ptr<Waiter>>> m_flights;
};

} // namespace airlock::proxy
