#pragma once

// Private to proxy/: the one thread that does fsyncs and LMDB write transactions, so request
// threads never block on the disk or on each other's write transactions.

#include "http/net.hpp"

#include <boost/asio/thread_pool.hpp>

#include <type_traits>

namespace airlock::proxy {

class Writer
{
public:
  Writer() : m_pool(1) {}
  ~Writer() { join(); }

  // Runs f() on the writer thread and resumes the caller with its result (or exception).
  template<typename F>
  auto run(F f) -> Awaitable<std::invoke_result_t<F&>>
  {
    using R = std::invoke_result_t<F&>;
    co_return co_await net::co_spawn(
      m_pool.get_executor(), [&f]() -> Awaitable<R> { co_return f(); }, net::use_awaitable);
  }

  void join() { m_pool.join(); }

private:
  net::thread_pool m_pool;
};

} // namespace airlock::proxy
