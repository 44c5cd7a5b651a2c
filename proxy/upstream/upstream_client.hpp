#pragma once

// Private to proxy/: the HTTP(S) client Airlock uses to talk to the upstream index.

#include "http/net.hpp"
#include "upstream/url.hpp"

#include <airlock/util/error.hpp>
#include <airlock/util/time.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace airlock::proxy {

// HTTPS_PROXY / HTTP_PROXY / NO_PROXY, as curl reads them.
struct ProxySettings
{
  std::optional<Url> https_proxy;
  std::optional<Url> http_proxy;
  std::string https_proxy_auth; // "Basic ..." when the proxy URL carried user:password
  std::string http_proxy_auth;
  std::vector<std::string> no_proxy; // lowercase host suffixes; "*" bypasses everything

  static ProxySettings from_environment();
  // The proxy to use for a URL, or nullptr for a direct connection.
  const Url* proxy_for(const Url& url) const;
};

struct UpstreamClientOptions
{
  // A page request's total deadline (connect, headers, body); a file's per connect and read.
  Seconds timeout = std::chrono::seconds{10};
  int max_redirects = 5;
  // The hosts Airlock may ask (lowercase): the index's and [upstream] file_hosts. A URL from a
  // listing or a redirect elsewhere is refused; empty = any (tests of the client alone).
  std::vector<std::string> allowed_hosts;
  std::string ca_file;                        // extra trust anchor (tests); system store always
  ProxySettings proxies;
};

// Whether `url` may be fetched: its host is one of `allowed` (lowercase; empty = any), and a
// redirect (`from` set) never goes from https to http. Errors name the URL and why.
Expected<void> admit_url(const Url& url, const Url* from, const std::vector<std::string>& allowed);

// True for a failure of get_page or get_stream that was upstream not answering in time.
bool is_timeout(std::string_view problem);

// A complete, bounded response (index pages).
struct PageResponse
{
  unsigned status = 0;
  std::string body;
  std::string etag;
  std::string content_type;
  std::string url; // the URL that answered, after redirects
};

struct Connection;

// A response whose body is read in chunks (distribution files). Returns its connection to the
// pool when the body was read to the end.
class UpstreamBody
{
public:
  ~UpstreamBody();
  UpstreamBody(const UpstreamBody&) = delete;
  UpstreamBody& operator=(const UpstreamBody&) = delete;

  unsigned status() const;
  std::optional<std::uint64_t> content_length() const;
  // The whole file's size from a 206's Content-Range ("bytes 0-0/12345"), or nullopt.
  std::optional<std::uint64_t> range_total() const;
  // Reads the next bytes into `buffer`; 0 means the body is complete. Fails on a timeout,
  // a connection that breaks early, or a body longer than the limit.
  Awaitable<Expected<std::size_t>> read_some(std::span<char> buffer);
  // Reads the rest of the body into memory (bounded by the body limit of get_stream).
  Awaitable<Expected<std::string>> read_all();

private:
  friend class UpstreamClient;
  struct State;
  explicit UpstreamBody(std::unique_ptr<State> state);
  Awaitable<Expected<std::size_t>> read_direct(std::span<char> buffer);
  std::unique_ptr<State> m_state;
};

// Talks to upstream with connection reuse, timeouts, bounded redirects and bounded bodies.
// TLS verifies the peer against the system CA store and the host name. Thread-safe: any
// number of coroutines may use one client.
class UpstreamClient
{
public:
  UpstreamClient(net::any_io_executor executor, UpstreamClientOptions options);
  ~UpstreamClient();

  // GETs a page of at most `body_limit` bytes, following redirects. Sends If-None-Match when
  // `etag` is non-empty. Any HTTP status is a successful result; transport failures are errors.
  Awaitable<Expected<PageResponse>> get_page(std::string url,
                                             std::string_view accept,
                                             std::string_view etag,
                                             std::uint64_t body_limit);
  // A byte range to ask for: `length` bytes from `offset`.
  struct Range
  {
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };

  // GETs a body to stream, following redirects; the body may not exceed `body_limit`. With a
  // range, asks for just those bytes (206); a server that ignores it answers 200 with all.
  Awaitable<Expected<std::unique_ptr<UpstreamBody>>> get_stream(std::string url, std::uint64_t body_limit,
                                                                std::optional<Range> range = std::nullopt);

  // Closes the idle connections, and every connection handed back from now on (shutdown).
  void close();

private:
  using Deadline = std::chrono::steady_clock::time_point;
  Awaitable<Expected<std::unique_ptr<Connection>>> connect(const Url& url, Deadline deadline);
  // An idle pooled connection to `url`'s origin on the caller's io_context (reused = true), or
  // a new one. A pooled one may have been closed by upstream meanwhile: callers retry once.
  Awaitable<Expected<std::unique_ptr<Connection>>> connection_for(const Url& url, const net::any_io_executor& caller,
                                                                  bool& reused, Deadline deadline);
  std::unique_ptr<Connection> take_idle(const std::string& origin);
  void give_back(std::unique_ptr<Connection> connection);
  friend class UpstreamBody;

  net::any_io_executor m_executor;
  UpstreamClientOptions m_options;
  ssl::context m_tls;
  std::mutex m_mutex;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> m_idle;
  bool m_closed = false;
};

} // namespace airlock::proxy
