#pragma once

// Private to proxy/: the Asio/Beast vocabulary every networked part of the proxy shares.
// Public headers never include this.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace airlock::proxy {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

// Completion token for operations whose errors are expected: co_await returns (ec, ...).
inline constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

template<typename T = void> using Awaitable = net::awaitable<T>;

} // namespace airlock::proxy
