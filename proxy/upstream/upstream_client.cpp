// The upstream HTTP(S) client: pooled connections per thread, TLS verified, proxies from the
// environment, redirects followed, every read bounded and timed.
#include "upstream/upstream_client.hpp"

#include "upstream/url.hpp"

#include <airlock/util/base64.hpp>
#include <airlock/util/log.hpp>
#include <airlock/util/text.hpp>

#include <boost/url/parse.hpp>

#include <fmt/core.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

namespace airlock::proxy {

namespace {

constexpr std::string_view k_user_agent = "airlock/0.1";
constexpr std::size_t k_max_header = 64 * 1024;
constexpr std::size_t k_max_idle_per_origin = 32;
constexpr std::size_t k_read_buffer = 64 * 1024; // Beast reads at most 64 KiB at a time anyway

std::string
host_header(const Url& url)
{
  const bool ipv6 = url.host.find(':') != std::string::npos;
  std::string host = ipv6 ? "[" + url.host + "]" : url.host;
  const bool default_port = (url.tls() && url.port == 443) || (!url.tls() && url.port == 80);
  if (!default_port) {
    host += ":" + std::to_string(url.port);
  }
  return host;
}

std::string
basic_auth(std::string_view userinfo)
{
  return "Basic " + base64_encode(userinfo);
}

const char*
getenv_either(const char* upper, const char* lower)
{
  const char* value = std::getenv(lower);
  if (value == nullptr || *value == '\0') {
    value = std::getenv(upper);
  }
  return value != nullptr && *value != '\0' ? value : nullptr;
}

} // namespace


// --- proxies ---------------------------------------------------------------------------------

ProxySettings
ProxySettings::from_environment()
{
  ProxySettings settings;
  const auto read_proxy = [](const char* value, std::optional<Url>& proxy, std::string& auth) {
    if (value == nullptr) {
      return;
    }
    std::string text = value;
    if (text.find("://") == std::string::npos) {
      text = "http://" + text;
    }
    auto parsed = boost::urls::parse_uri(text);
    auto url = parse_url(text);
    if (!parsed || !url) {
      AIRLOCK_LOG(warn, "ignoring unparsable proxy setting \"{}\"", value);
      return;
    }
    if (parsed->has_userinfo()) {
      auth = basic_auth(parsed->userinfo());
    }
    proxy = std::move(*url);
  };
  read_proxy(getenv_either("HTTPS_PROXY", "https_proxy"), settings.https_proxy, settings.https_proxy_auth);
  read_proxy(getenv_either("HTTP_PROXY", "http_proxy"), settings.http_proxy, settings.http_proxy_auth);
  if (const char* no_proxy = getenv_either("NO_PROXY", "no_proxy")) {
    std::string_view rest = no_proxy;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      std::string_view entry = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      while (!entry.empty() && (entry.front() == ' ' || entry.front() == '.')) {
        entry.remove_prefix(1);
      }
      while (!entry.empty() && entry.back() == ' ') {
        entry.remove_suffix(1);
      }
      if (!entry.empty()) {
        settings.no_proxy.push_back(lowercase(entry));
      }
    }
  }
  return settings;
}

const Url*
ProxySettings::proxy_for(const Url& url) const
{
  const auto& proxy = url.tls() ? https_proxy : http_proxy;
  if (!proxy) {
    return nullptr;
  }
  for (const auto& entry : no_proxy) {
    if (entry == "*" || url.host == entry
        || (url.host.size() > entry.size() && url.host.ends_with(entry)
            && url.host[url.host.size() - entry.size() - 1] == '.')) {
      return nullptr;
    }
  }
  return &*proxy;
}

// --- connections -----------------------------------------------------------------------------

struct Connection
{
  std::string origin;
  std::string pool_key; // the origin and the io_context the connection's I/O runs on
  std::optional<beast::tcp_stream> tcp;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  bool absolute_form = false; // plain http through an HTTP proxy

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *tcp; }
};

namespace {

// Runs an operation on whichever stream the connection has.
template<typename F>
auto
with_stream(Connection& connection, F&& f)
{
  return connection.tls ? f(*connection.tls) : f(*connection.tcp);
}

http::request<http::empty_body>
make_request(const Connection& connection, const Url& url)
{
  http::request<http::empty_body> req{http::verb::get,
                                      connection.absolute_form ? url.origin() + url.target : url.target,
                                      11};
  req.set(http::field::host, host_header(url));
  req.set(http::field::user_agent, k_user_agent);
  req.keep_alive(true);
  return req;
}

// Idle connections are pooled per origin and per io_context: a coroutine only ever uses
// connections whose I/O runs on its own thread, and no connection outlives its io_context.
std::string
pool_key(const Url& url, const net::any_io_executor& executor)
{
  const auto& context = net::query(executor, net::execution::context);
  return fmt::format("{}#{}", url.origin(), static_cast<const void*>(&context));
}

bool
is_redirect(unsigned status)
{
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Where a response sends the client next: nullopt when it is not a redirect (with a Location),
// an error past `max_redirects` or for a Location that does not resolve.
Expected<std::optional<std::string>>
redirect_target(const std::string& url, unsigned status, const http::fields& headers, int redirects,
                int max_redirects)
{
  if (!is_redirect(status) || headers.count(http::field::location) == 0) {
    return std::optional<std::string>();
  }
  if (redirects >= max_redirects) {
    return make_unexpected(fmt::format("{}: more than {} redirects", url, max_redirects));
  }
  auto next = resolve_url(url, headers[http::field::location]);
  if (!next) {
    return make_unexpected(next.error());
  }
  return std::optional<std::string>(std::move(*next));
}

} // namespace

UpstreamClient::UpstreamClient(net::any_io_executor executor, UpstreamClientOptions options)
  : m_executor(std::move(executor)),
    m_options(std::move(options)),
    m_tls(ssl::context::tls_client)
{
  m_tls.set_default_verify_paths();
  if (!m_options.ca_file.empty()) {
    m_tls.load_verify_file(m_options.ca_file);
  }
  m_tls.set_verify_mode(ssl::verify_peer);
  m_tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3
                    | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
}

UpstreamClient::~UpstreamClient() = default;

std::unique_ptr<Connection>
UpstreamClient::take_idle(const std::string& key)
{
  std::lock_guard lock(m_mutex);
  auto it = m_idle.find(key);
  if (it == m_idle.end() || it->second.empty()) {
    return nullptr;
  }
  auto connection = std::move(it->second.back());
  it->second.pop_back();
  return connection;
}

void
UpstreamClient::close()
{
  decltype(m_idle) idle;
  {
    std::lock_guard lock(m_mutex);
    m_closed = true;
    idle.swap(m_idle);
  }
}

void
UpstreamClient::give_back(std::unique_ptr<Connection> connection)
{
  connection->buffer.clear();
  std::lock_guard lock(m_mutex);
  if (m_closed) {
    return;
  }
  auto& idle = m_idle[connection->pool_key];
  if (idle.size() < k_max_idle_per_origin) {
    idle.push_back(std::move(connection));
  }
}

namespace {

// One line for a failed step; a timeout says so in words is_timeout() knows.
std::string
failure_text(const beast::error_code& ec, Seconds timeout)
{
  return ec == beast::error::timeout ? fmt::format("timed out after {}s", timeout.count()) : ec.message();
}

} // namespace

Expected<void>
admit_url(const Url& url, const Url* from, const std::vector<std::string>& allowed)
{
  if (from != nullptr && from->tls() && !url.tls()) {
    return make_unexpected(fmt::format("refused a redirect from https to http ({}{})", url.host, url.target));
  }
  const std::string host = lowercase(url.host);
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), host) == allowed.end()) {
    return make_unexpected(fmt::format("refused {}://{}{}: the host {} is not an allowed upstream host", url.scheme,
                                       url.host, url.target, host));
  }
  return {};
}

bool
is_timeout(std::string_view problem)
{
  return problem.find("timed out after") != std::string_view::npos;
}

Awaitable<Expected<std::unique_ptr<Connection>>>
UpstreamClient::connect(const Url& url, Deadline deadline)
{
  auto executor = co_await net::this_coro::executor;
  const Url* proxy = m_options.proxies.proxy_for(url);
  const Url& peer = proxy != nullptr ? *proxy : url;

  tcp::resolver resolver(executor);
  auto [resolve_ec, endpoints] = co_await resolver.async_resolve(peer.host, std::to_string(peer.port), use_tuple);
  if (resolve_ec) {
    co_return make_unexpected(fmt::format("cannot resolve {}: {}", peer.host, resolve_ec.message()));
  }
  // On the caller's io_context: its reads complete on the caller's thread, with no hop to
  // another thread per chunk of a download.
  beast::tcp_stream stream(executor);
  stream.expires_at(deadline);
  auto [connect_ec, endpoint] = co_await stream.async_connect(endpoints, use_tuple);
  if (connect_ec) {
    co_return make_unexpected(fmt::format("cannot connect to {}:{}: {}", peer.host, peer.port,
                                          failure_text(connect_ec, m_options.timeout)));
  }
  stream.socket().set_option(tcp::no_delay(true));

  auto connection = std::make_unique<Connection>();
  connection->origin = url.origin();
  connection->pool_key = pool_key(url, executor);
  // Beast reads at most what the buffer has room for, and a flat_buffer starts with 512 bytes:
  // a 2 MB file would take 4,000 reads (and as many relay rounds).
  connection->buffer.reserve(k_read_buffer);
  if (proxy != nullptr && url.tls()) {
    // Tunnel through the proxy with CONNECT; TLS runs end to end inside it.
    const std::string authority =
      fmt::format("{}:{}", url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host, url.port);
    http::request<http::empty_body> req{http::verb::connect, authority, 11};
    req.set(http::field::host, authority);
    if (!m_options.proxies.https_proxy_auth.empty()) {
      req.set(http::field::proxy_authorization, m_options.proxies.https_proxy_auth);
    }
    auto [write_ec, written] = co_await http::async_write(stream, req, use_tuple);
    http::response_parser<http::empty_body> parser;
    parser.skip(true); // a CONNECT answer has no body
    beast::error_code read_ec = write_ec;
    if (!write_ec) {
      auto [ec, read] = co_await http::async_read_header(stream, connection->buffer, parser, use_tuple);
      read_ec = ec;
    }
    if (read_ec) {
      co_return make_unexpected(fmt::format("proxy CONNECT to {} failed: {}", url.host, read_ec.message()));
    }
    if (parser.get().result_int() / 100 != 2) {
      co_return make_unexpected(
        fmt::format("proxy refused CONNECT to {}: {}", url.host, parser.get().result_int()));
    }
  }
  if (!url.tls()) {
    connection->absolute_form = proxy != nullptr;
    connection->tcp.emplace(std::move(stream));
    co_return connection;
  }
  connection->tls.emplace(std::move(stream), m_tls);
  auto& tls = *connection->tls;
  if (SSL_set_tlsext_host_name(tls.native_handle(), url.host.c_str()) != 1) {
    co_return make_unexpected(fmt::format("TLS: cannot set SNI for {}", url.host));
  }
  tls.set_verify_callback(ssl::host_name_verification(url.host));
  beast::get_lowest_layer(tls).expires_at(deadline);
  auto [handshake_ec] = co_await tls.async_handshake(ssl::stream_base::client, use_tuple);
  if (handshake_ec) {
    co_return make_unexpected(fmt::format("TLS handshake with {} failed: {}", url.host,
                                          failure_text(handshake_ec, m_options.timeout)));
  }
  co_return connection;
}

Awaitable<Expected<std::unique_ptr<Connection>>>
UpstreamClient::connection_for(const Url& url, const net::any_io_executor& caller, bool& reused, Deadline deadline)
{
  auto idle = take_idle(pool_key(url, caller));
  reused = idle != nullptr;
  if (reused) {
    co_return std::move(idle);
  }
  auto connected = co_await connect(url, deadline);
  co_return std::move(connected);
}

// --- pages -----------------------------------------------------------------------------------

Awaitable<Expected<PageResponse>>
UpstreamClient::get_page(std::string url_text, std::string_view accept, std::string_view etag, std::uint64_t body_limit)
{
  const net::any_io_executor caller = co_await net::this_coro::executor;
  // One deadline for the whole request, redirects included: a hung upstream answers within
  // [upstream] timeout, below pip's own 15 s.
  const Deadline deadline = std::chrono::steady_clock::now() + m_options.timeout;
  std::optional<Url> previous;
  for (int redirects = 0;; ++redirects) {
    auto url = parse_url(url_text);
    if (!url) {
      co_return make_unexpected(url.error());
    }
    if (auto admitted = admit_url(*url, previous ? &*previous : nullptr, m_options.allowed_hosts); !admitted) {
      co_return make_unexpected(admitted.error());
    }
    previous = *url;
    // A pooled connection may have been closed by upstream meanwhile: retry once on a new one.
    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      auto opened = co_await connection_for(*url, caller, reused, deadline);
      if (!opened) {
        co_return make_unexpected(opened.error());
      }
      auto connection = std::move(*opened);
      auto req = make_request(*connection, *url);
      req.set(http::field::accept, accept);
      if (!etag.empty()) {
        req.set(http::field::if_none_match, etag);
      }
      connection->lowest().expires_at(deadline);
      auto [write_ec, written] =
        co_await with_stream(*connection, [&](auto& s) { return http::async_write(s, req, use_tuple); });
      http::response_parser<http::string_body> parser;
      parser.header_limit(k_max_header);
      parser.body_limit(body_limit);
      beast::error_code read_ec = write_ec;
      if (!write_ec) {
        auto [ec, read] = co_await with_stream(
          *connection, [&](auto& s) { return http::async_read(s, connection->buffer, parser, use_tuple); });
        read_ec = ec;
      }
      if (read_ec) {
        if (reused && attempt == 0 && !parser.got_some()) {
          continue;
        }
        if (read_ec == http::error::body_limit) {
          co_return make_unexpected(fmt::format("{}: page larger than {} bytes", url_text, body_limit));
        }
        co_return make_unexpected(fmt::format("{}: {}", url_text, failure_text(read_ec, m_options.timeout)));
      }
      auto response = parser.release();
      if (response.keep_alive()) {
        give_back(std::move(connection));
      }
      const unsigned status = response.result_int();
      auto next = redirect_target(url_text, status, response, redirects, m_options.max_redirects);
      if (!next) {
        co_return make_unexpected(next.error());
      }
      if (*next) {
        url_text = std::move(**next);
        break;
      }
      PageResponse page;
      page.status = status;
      page.etag = std::string(response[http::field::etag]);
      page.content_type = std::string(response[http::field::content_type]);
      page.body = std::move(response.body());
      page.url = std::move(url_text);
      co_return page;
    }
  }
}

// --- streamed bodies -------------------------------------------------------------------------

struct UpstreamBody::State
{
  UpstreamClient* client = nullptr;
  std::unique_ptr<Connection> connection;
  http::response_parser<http::buffer_body> parser;
  Seconds timeout{};
  std::string url;
  bool failed = false;
  // A Content-Length body is read straight from the socket into the caller's buffer, past
  // the parser: one copy less, and reads as large as the caller's buffer. Bytes still to come.
  std::optional<std::uint64_t> direct_left;

  bool done() const { return direct_left ? *direct_left == 0 : parser.is_done(); }
};

UpstreamBody::UpstreamBody(std::unique_ptr<State> state) : m_state(std::move(state))
{
}

UpstreamBody::~UpstreamBody()
{
  if (m_state && !m_state->failed && m_state->done() && m_state->parser.get().keep_alive()) {
    m_state->client->give_back(std::move(m_state->connection));
  }
}

unsigned
UpstreamBody::status() const
{
  return m_state->parser.get().result_int();
}

std::optional<std::uint64_t>
UpstreamBody::content_length() const
{
  if (auto length = m_state->parser.content_length()) {
    return *length;
  }
  return std::nullopt;
}

std::optional<std::uint64_t>
UpstreamBody::range_total() const
{
  const std::string_view range = m_state->parser.get()[http::field::content_range];
  const auto slash = range.rfind('/');
  if (!range.starts_with("bytes ") || slash == std::string_view::npos) {
    return std::nullopt;
  }
  std::uint64_t total = 0;
  const auto digits = range.substr(slash + 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), total);
  if (ec != std::errc{} || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return total;
}

Awaitable<Expected<std::size_t>>
UpstreamBody::read_some(std::span<char> buffer)
{
  auto& state = *m_state;
  if (state.direct_left) {
    co_return co_await read_direct(buffer);
  }
  while (!state.parser.is_done()) {
    auto& body = state.parser.get().body();
    body.data = buffer.data();
    body.size = buffer.size();
    state.connection->lowest().expires_after(state.timeout);
    auto [ec, read] = co_await with_stream(*state.connection, [&](auto& s) {
      return http::async_read_some(s, state.connection->buffer, state.parser, use_tuple);
    });
    if (ec == http::error::need_buffer) {
      ec = {};
    }
    if (ec) {
      state.failed = true;
      if (ec == http::error::body_limit) {
        co_return make_unexpected(fmt::format("{}: body larger than allowed", state.url));
      }
      co_return make_unexpected(fmt::format("{}: {}", state.url, failure_text(ec, state.timeout)));
    }
    const std::size_t filled = buffer.size() - body.size;
    if (filled > 0) {
      co_return filled;
    }
  }
  co_return 0;
}

Awaitable<Expected<std::size_t>>
UpstreamBody::read_direct(std::span<char> buffer)
{
  auto& state = *m_state;
  auto& left = *state.direct_left;
  if (left == 0 || buffer.empty()) {
    co_return 0;
  }
  const auto want = net::buffer(buffer.data(), static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), left)));
  auto& early = state.connection->buffer; // body bytes that arrived with the header
  if (early.size() > 0) {
    const std::size_t copied = net::buffer_copy(want, early.data());
    early.consume(copied);
    left -= copied;
    co_return copied;
  }
  state.connection->lowest().expires_after(state.timeout);
  auto [ec, read] = co_await with_stream(*state.connection, [&](auto& s) { return s.async_read_some(want, use_tuple); });
  if (ec) {
    state.failed = true;
    if (ec == net::error::eof || ec == ssl::error::stream_truncated) {
      co_return make_unexpected(fmt::format("{}: connection closed with {} bytes of the body still to come", state.url, left));
    }
    co_return make_unexpected(fmt::format("{}: {}", state.url, failure_text(ec, state.timeout)));
  }
  left -= read;
  co_return read;
}

Awaitable<Expected<std::string>>
UpstreamBody::read_all()
{
  std::string content;
  std::array<char, 65536> buffer{};
  for (;;) {
    auto read = co_await read_some(buffer);
    if (!read) {
      co_return make_unexpected(read.error());
    }
    if (*read == 0) {
      co_return content;
    }
    content.append(buffer.data(), *read);
  }
}

Awaitable<Expected<std::unique_ptr<UpstreamBody>>>
UpstreamClient::get_stream(std::string url_text, std::uint64_t body_limit, std::optional<Range> range)
{
  const net::any_io_executor caller = co_await net::this_coro::executor;
  std::optional<Url> previous;
  for (int redirects = 0;; ++redirects) {
    auto url = parse_url(url_text);
    if (!url) {
      co_return make_unexpected(url.error());
    }
    if (auto admitted = admit_url(*url, previous ? &*previous : nullptr, m_options.allowed_hosts); !admitted) {
      co_return make_unexpected(admitted.error());
    }
    previous = *url;
    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      auto opened =
        co_await connection_for(*url, caller, reused, std::chrono::steady_clock::now() + m_options.timeout);
      if (!opened) {
        co_return make_unexpected(opened.error());
      }
      auto connection = std::move(*opened);
      auto req = make_request(*connection, *url);
      req.set(http::field::accept, "*/*");
      if (range && range->length > 0) {
        req.set(http::field::range, fmt::format("bytes={}-{}", range->offset, range->offset + range->length - 1));
      }
      auto state = std::make_unique<UpstreamBody::State>();
      state->client = this;
      state->timeout = m_options.timeout;
      state->url = url_text;
      state->parser.header_limit(k_max_header);
      state->parser.body_limit(body_limit);
      connection->lowest().expires_after(m_options.timeout);
      auto [write_ec, written] =
        co_await with_stream(*connection, [&](auto& s) { return http::async_write(s, req, use_tuple); });
      beast::error_code read_ec = write_ec;
      if (!write_ec) {
        auto [ec, read] = co_await with_stream(*connection, [&](auto& s) {
          return http::async_read_header(s, connection->buffer, state->parser, use_tuple);
        });
        read_ec = ec;
      }
      if (read_ec) {
        if (reused && attempt == 0 && !state->parser.got_some()) {
          continue;
        }
        co_return make_unexpected(fmt::format("{}: {}", url_text, failure_text(read_ec, m_options.timeout)));
      }
      const auto& response = state->parser.get();
      auto next = redirect_target(url_text, response.result_int(), response, redirects, m_options.max_redirects);
      if (!next) {
        co_return make_unexpected(next.error());
      }
      if (*next) {
        url_text = std::move(**next);
        break; // the redirect's connection is dropped rather than drained
      }
      if (const auto length = state->parser.content_length_remaining(); length && !state->parser.is_done()) {
        state->direct_left = *length;
      }
      state->connection = std::move(connection);
      co_return std::unique_ptr<UpstreamBody>(new UpstreamBody(std::move(state)));
    }
  }
}

} // namespace airlock::proxy
