// The composition root: builds every part, accepts connections, runs sessions on one thread
// each, routes requests to the parts, and drains on shutdown.
#include <airlock/proxy/server.hpp>

#include "admin/admin_api.hpp"
#include "advisories/feed.hpp"
#include "admin/auth.hpp"
#include "http/exchange.hpp"
#include "checks/checks.hpp"
#include "pages/facts.hpp"
#include "files/files.hpp"
#include "http/metrics.hpp"
#include "http/net.hpp"
#include "pages/project_index.hpp"
#include "pages/simple_routes.hpp"
#include "pages/snapshot_signer.hpp"
#include "pages/snapshots.hpp"
#include "pages/state_gauges.hpp"
#include "files/tuf_routes.hpp"
#include "upstream/upstream_client.hpp"
#include "http/writer.hpp"

#include <airlock/policy/filename.hpp>
#include "http/negotiate.hpp"
#include <airlock/util/log.hpp>

#include <boost/asio/signal_set.hpp>
#include <fmt/core.h>

#include <atomic>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include <unistd.h>

namespace airlock::proxy {

namespace {

constexpr std::size_t k_max_request_header = 16 * 1024;
constexpr std::size_t k_max_request_body = 1 << 20;
constexpr std::string_view k_advisory_import = "/-/api/v1/advisories/import";
constexpr std::size_t k_max_advisory_import = 512 << 20;
constexpr std::chrono::seconds k_drain_timeout{10};   // in-flight requests get this long at shutdown

bool
printable_ascii(std::string_view text)
{
  for (unsigned char c : text) {
    if (c < 0x21 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

 // A malformed request gets a 4xx answer; a connection that just ended gets none.
bool
answers_parse_error(const beast::error_code& ec)
{
  if (ec.category() != http::make_error_code(http::error::bad_target).category()) {
    return false;
  }
  return ec != http::error::end_of_stream && ec != http::error::partial_message && ec != http::error::short_read
         && ec != http::error::need_more;
}

// Splits "/a/b/c" into {"a", "b", "c"}; a trailing slash gives a trailing empty segment.
std::vector<std::string_view>
split_path(std::string_view path)
{
  std::vector<std::string_view> segments;
  if (path.empty() || path.front() != '/') {
    return segments;
  }
  path.remove_prefix(1);
  for (;;) {
    const auto slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) {
      break;
    }
    path.remove_prefix(slash + 1);
  }
  return segments;
}

} // namespace

struct Server::Impl
{
  // A live connection, so shutdown can close the idle ones.
  struct Session
  {
    beast::tcp_stream* stream = nullptr;
    net::any_io_executor executor;
    // Set by the session's own thread without the lock (twice a request); read by shutdown.
    std::atomic<bool> idle{true};
  };

  Impl(Config config_in, const Clock& clock_in, ServerTestHooks hooks)
    : config(with_file_hosts(std::move(config_in))),
      clock(clock_in),
      policy(config.policy),
      store(config.storage),
      threads(config.server.threads == 0 ? std::max(1u, std::thread::hardware_concurrency()) : config.server.threads),
      ioc_owner(std::make_unique<net::io_context>(1)),
      ioc(*ioc_owner),
      upstream(ioc.get_executor(), upstream_options(config, hooks)),
      index(config, policy, clock, store, upstream, writer, metrics),
      files(clock, store, upstream, index, writer, metrics),
      snapshots(policy, clock, store),
      checks(ioc.get_executor(), config, clock, store, upstream, writer, metrics, load_trusted_root(config),
             [this](const std::string& project) {
               index.invalidate(project);
               snapshots.invalidate();
               signer.publish_soon(); // a snapshot page may show the verified provenance now
             }),
      signer(config, clock, snapshots, writer, ioc),
      advisories(config, clock, store, policy, writer, ioc,
                 [this](const std::vector<std::string>& projects) {
                   for (const auto& project : projects) {
                     index.invalidate(project);
                   }
                   snapshots.invalidate(); // malicious records withhold frozen files too
                   signer.publish_soon();
                 }),
      admin(policy, clock, store, index, snapshots, writer, reads, advisories, [this] { signer.publish(); }),
      simple(store, index, snapshots),
      tuf(store, signer, snapshots, files),
      gauges(store, policy, clock, reads),
      acceptor_owner(std::make_unique<tcp::acceptor>(ioc)),
      acceptor(*acceptor_owner)
  {
    index.set_stale_while_revalidate(hooks.stale_while_revalidate);
    index.set_check_scheduler([this](const storage::Listing& listing, const std::vector<bool>& needed) {
      checks.schedule(listing, needed);
    });
    index.set_takedown_handler([this](const std::string&) {
      snapshots.invalidate(); // a takedown withholds frozen files too
      signer.publish_soon();
    });
    // One io_context per thread: each session lives on one of them, start to end, so its
    // handlers never hop threads, need no strand, and no thread wakes another to run them.
    // `ioc` (thread 0) also runs the listener, the background checks, the upstream
    // connections' I/O and the timers of shutdown.
    for (unsigned i = 1; i < threads; ++i) {
      session_contexts.push_back(std::make_unique<net::io_context>(1));
      session_work.push_back(net::make_work_guard(*session_contexts.back()));
    }
    files.set_frozen_lookup([this](const Sha256& sha256) { return snapshots.frozen(sha256); });
    files.set_reinspect([this](const storage::FileRecord& file, int fd) { return checks.reinspect(file, fd); });
    if (const auto removed = store.blobs().remove_temp_files(); removed > 0) {
      AIRLOCK_LOG(info, "removed {} unfinished downloads left by an earlier run", removed);
    }
  }

  // Coroutines that shutdown cut off live on in the io_context until it is destroyed; they are
  // destroyed first here, while every service they use is still alive, and after the last
  // I/O objects outside them are gone.
  ~Impl()
  {
    checks.stop();
    signer.stop();
    advisories.stop();
    reads.join();
    writer.join();
    acceptor_owner.reset();
    upstream.close();
    // Sessions' frames hold upstream connections and timers of `ioc`: they go first.
    session_work.clear();
    session_contexts.clear();
    ioc_owner.reset();
  }

  // Policy holds what files the upstream client will not fetch.
  static Config with_file_hosts(Config config)
  {
    config.policy.file_hosts = allowed_upstream_hosts(config.upstream);
    return config;
  }

  static UpstreamClientOptions upstream_options(const Config& config, const ServerTestHooks& hooks)
  {
    UpstreamClientOptions options;
    options.timeout = config.upstream.timeout;
    options.allowed_hosts = allowed_upstream_hosts(config.upstream);
    options.ca_file = hooks.upstream_ca_file;
    options.proxies = ProxySettings::from_environment();
    return options;
  }

  Awaitable<void> listen();
  Awaitable<void> run_session(beast::tcp_stream stream, std::string peer);
  Awaitable<void> handle(Exchange& exchange);
  // `snapshot` empty: the live index; else that snapshot's frozen view.
  Awaitable<void> handle_metrics(Exchange& exchange);
  void begin_shutdown();

  Config config;
  const Clock& clock;
  policy::Policy policy;
  storage::Store store;
  unsigned threads;
  Writer writer;
  // Heavy reads (every project decided: metrics gauges, the review queue) run here, off the
  // I/O threads and off the writer.
  Writer reads;
  std::unique_ptr<net::io_context> ioc_owner;
  net::io_context& ioc;
  // The other threads' io_contexts; sessions are dealt round-robin over `ioc` and these.
  std::vector<std::unique_ptr<net::io_context>> session_contexts;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> session_work;
  unsigned next_context = 0; // used by the listener only

  net::io_context& context_for_next_session()
  {
    const unsigned which = next_context++ % threads;
    return which == 0 ? ioc : *session_contexts[which - 1];
  }
  // Stops every thread's io_context.
  void stop_all()
  {
    ioc.stop();
    for (auto& context : session_contexts) {
      context->stop();
    }
  }
  Metrics metrics;
  UpstreamClient upstream;
  ProjectIndex index;
  FileService files;
  SnapshotService snapshots;
  CheckRunner checks;
  SnapshotSigner signer;
  AdvisoryFeed advisories;
  AdminApi admin;
  SimpleRoutes simple;
  TufRoutes tuf;
  StateGauges gauges;
  std::unique_ptr<tcp::acceptor> acceptor_owner;
  tcp::acceptor& acceptor;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> next_request_id{1};


  std::mutex sessions_mutex;
  std::list<Session> sessions;
  std::atomic<std::size_t> open_connections{0}; // counted from accept, for [server] max_connections
};

Awaitable<void>
Server::Impl::listen()
{
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec) {
      if (stopping || ec == net::error::operation_aborted) {
        co_return;
      }
      // Out of file descriptors and the like: log, breathe, keep accepting.
      AIRLOCK_LOG(warn, "accept failed: {}", ec.message());
      net::steady_timer pause(ioc, std::chrono::milliseconds(50));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    beast::error_code ignored;
    if (open_connections.load(std::memory_order_relaxed) >= config.server.max_connections) {
      // Over the limit: say so if the socket takes it at once, then hang up.
      static constexpr std::string_view k_busy = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                                                 "Content-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n";
      socket.non_blocking(true, ignored);
      socket.write_some(net::buffer(k_busy), ignored);
      socket.close(ignored);
      metrics.count_rejected_connection();
      continue;
    }
    // The connection moves to the io_context of the thread that will serve it.
    net::io_context& context = context_for_next_session();
    tcp::socket session_socket(context);
    if (&context == &ioc) {
      session_socket = std::move(socket);
    } else {
      const auto protocol = socket.local_endpoint(ignored).protocol();
      beast::error_code moved;
      const auto handle = socket.release(moved);
      if (!moved) {
        session_socket.assign(protocol, handle, moved);
        if (moved) {
          ::close(handle);
        }
      }
      if (moved) {
        AIRLOCK_LOG(warn, "cannot hand a connection to its thread: {}", moved.message());
        continue;
      }
    }
    open_connections.fetch_add(1, std::memory_order_relaxed);
    session_socket.set_option(tcp::no_delay(true), ignored);
    // send_prepared() writes at once and gets would_block rather than blocking the thread.
    session_socket.non_blocking(true, ignored);
    auto remote = session_socket.remote_endpoint(ignored);
    std::string peer = fmt::format("{}:{}", remote.address().to_string(), remote.port());
    net::co_spawn(context, run_session(beast::tcp_stream(std::move(session_socket)), std::move(peer)),
                  [](std::exception_ptr error) {
                    if (!error) {
                      return;
                    }
                    try {
                      std::rethrow_exception(error);
                    } catch (const std::exception& e) {
                      AIRLOCK_LOG(error, "session failed: {}", e.what());
                    }
                  });
  }
}

Awaitable<void>
Server::Impl::run_session(beast::tcp_stream stream, std::string peer)
{
  const net::any_io_executor executor = co_await net::this_coro::executor;
  std::list<Session>::iterator registration;
  {
    std::lock_guard lock(sessions_mutex);
    registration = sessions.emplace(sessions.end());
    registration->stream = &stream;
    registration->executor = executor;
  }
  struct Unregister
  {
    Impl& impl;
    std::list<Session>::iterator it;
    ~Unregister()
    {
      std::lock_guard lock(impl.sessions_mutex);
      impl.sessions.erase(it);
      impl.open_connections.fetch_sub(1, std::memory_order_relaxed);
    }
  } unregister{*this, registration};

  beast::flat_buffer buffer;
  bool first = true;
  while (!stopping) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(k_max_request_header);
    parser.body_limit(k_max_request_body);
    stream.expires_after(first ? config.server.request_timeout : config.server.idle_timeout);
    first = false;
    auto [ec, read] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    if (!ec) {
      // An admin's import may be a whole feed (osv.dev's PyPI/all.zip): a larger body, for an
      // admin's token only.
      const auto& header = parser.get();
      const std::string_view target = header.target();
      if (header.method() == http::verb::post && target.substr(0, target.find('?')) == k_advisory_import) {
        const auto principal = authenticate(store, header[http::field::authorization]);
        if (principal && principal->role == storage::Role::admin) {
          parser.body_limit(k_max_advisory_import);
        }
      }
      std::tie(ec, read) = co_await http::async_read(stream, buffer, parser, use_tuple);
    }
    registration->idle = false;
    if (ec) {
      if (answers_parse_error(ec)) {
        // Answer what we can, then close: the rest of the stream cannot be trusted.
        Request bad{http::verb::get, "/", 11};
        Exchange exchange{stream, bad};
        exchange.keep_alive = false;
        const auto status = ec == http::error::header_limit  ? http::status::request_header_fields_too_large
                            : ec == http::error::body_limit ? http::status::payload_too_large
                                                            : http::status::bad_request;
        co_await send_text(exchange, status, "bad request: " + ec.message());
        AIRLOCK_LOG(info, "{} {} - - {} 0B 0ms {}", next_request_id++, peer, exchange.status, ec.message());
      }
      break;
    }
    const auto started = std::chrono::steady_clock::now();
    const Request& request = parser.get();
    Exchange exchange{stream, request};
    exchange.keep_alive = request.keep_alive() && !stopping;
    // The per-request boundary: a bug or a storage fault costs one request, not the server.
    // A storage fault (map full, disk full, I/O error) is the operator's to fix and says what
    // it is; anything else is a bug, told only to the log.
    std::string failure;
    http::status failure_status = http::status::internal_server_error;
    try {
      co_await handle(exchange);
    } catch (const StorageError& e) {
      AIRLOCK_LOG(error, "{} {} failed: {}", request.method_string(), request.target(), e.what());
      failure = fmt::format("storage error: {}", e.what());
      failure_status = http::status::service_unavailable;
    } catch (const std::exception& e) {
      AIRLOCK_LOG(error, "{} {} failed: {}", request.method_string(), request.target(), e.what());
      failure = "internal error; see the server log";
    }
    if (!failure.empty()) {
      exchange.keep_alive = false;
      if (exchange.status == 0) {
        co_await send_text(exchange, failure_status, failure);
      }
    }
    const auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started);
    metrics.record_request(exchange.route, exchange.status, elapsed.count() / 1000, exchange.bytes);
    AIRLOCK_LOG(info, "{} {} {} {} {} {}B {:.1f}ms {}", next_request_id++, peer, request.method_string(),
                request.target(), exchange.status, exchange.bytes, elapsed.count(),
                exchange.outcome.empty() ? "-" : exchange.outcome);
    if (!exchange.keep_alive || !stream.socket().is_open()) {
      break;
    }
    // Seen by begin_shutdown(), or this session sees `stopping` next (both are seq_cst).
    registration->idle = true;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

Awaitable<void>
Server::Impl::handle(Exchange& exchange)
{
  const auto& request = exchange.request;
  const std::string_view target = request.target();
  if (target.empty() || target.front() != '/' || target.size() > 4096 || !printable_ascii(target)) {
    exchange.keep_alive = false;
    co_await send_text(exchange, http::status::bad_request, "bad request: malformed request target");
    co_return;
  }
  const auto question = target.find('?');
  auto path = percent_decode(target.substr(0, question));
  if (!path) {
    co_await send_text(exchange, http::status::bad_request, "bad request: malformed percent-encoding in path");
    co_return;
  }
  exchange.path = std::move(*path);
  if (question != std::string_view::npos) {
    exchange.query = std::string(target.substr(question + 1));
  }
  const auto segments = split_path(exchange.path);
  for (const auto segment : segments) {
    if (segment == "." || segment == "..") {
      co_await send_text(exchange, http::status::bad_request, "bad request: '.' and '..' are not allowed in paths");
      co_return;
    }
  }
  if (segments.size() >= 3 && segments[0] == "-" && segments[1] == "api" && segments[2] == "v1") {
    exchange.head = request.method() == http::verb::head;
    exchange.route = Route::api;
    co_await admin.handle(exchange, std::span(segments).subspan(3));
    co_return;
  }
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    http::response<http::span_body<const char>> response{http::status::method_not_allowed, 11};
    response.set(http::field::allow, "GET, HEAD");
    static constexpr std::string_view k_body = "method not allowed\n";
    response.body() = {k_body.data(), k_body.size()};
    co_await send(exchange, response);
    co_return;
  }
  exchange.head = request.method() == http::verb::head;

  if (segments.size() == 2 && segments[0] == "-" && segments[1] == "health") {
    exchange.route = Route::health;
    co_await send_text(exchange, http::status::ok, "ok");
    co_return;
  }
  if (segments.size() == 2 && segments[0] == "-" && segments[1] == "metrics") {
    co_await handle_metrics(exchange);
    co_return;
  }
  if (config.auth.index_requires_token && !authenticate(store, request[http::field::authorization])) {
    // pip sends the token as the basic-auth password once it is challenged.
    http::response<http::span_body<const char>> response{http::status::unauthorized, 11};
    static constexpr std::string_view k_body = "a token is required: use it as the password in the index URL\n";
    response.set(http::field::www_authenticate, "Basic realm=\"airlock\"");
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = {k_body.data(), k_body.size()};
    exchange.outcome = "unauthorized";
    co_await send(exchange, response);
    co_return;
  }
  if (!segments.empty() && segments[0] == "simple") {
    if (segments.size() == 1) {
      co_await send_redirect(exchange, http::status::moved_permanently, "simple/");
    } else if (segments.size() == 2 && segments[1].empty()) {
      co_await simple.root(exchange);
    } else if (segments.size() == 2 || (segments.size() == 3 && segments[2].empty())) {
      co_await simple.project(exchange, segments[1], segments.size() == 3);
    } else {
      co_await send_text(exchange, http::status::not_found, "not found");
    }
    co_return;
  }
  if (!segments.empty() && segments[0] == "pypi") {
    co_await simple.legacy_json(exchange, std::span(segments).subspan(1));
    co_return;
  }
  if (segments.size() >= 3 && segments[0] == "snapshots" && segments[2] == "simple") {
    co_await simple.snapshot(exchange, std::span(segments).subspan(1));
    co_return;
  }
  if (segments.size() == 5 && segments[0] == "integrity" && segments[4] == "provenance") {
    co_await simple.provenance(exchange, segments[1], segments[3]);
    co_return;
  }
  if (segments.size() >= 3 && segments[0] == "tuf") {
    co_await tuf.serve(exchange, std::span(segments).subspan(1));
    co_return;
  }
  if (segments.size() == 3 && segments[0] == "files") {
    co_await files.serve(exchange, segments[1], segments[2]);
    co_return;
  }
  co_await send_text(exchange, http::status::not_found, "not found");
}

Awaitable<void>
Server::Impl::handle_metrics(Exchange& exchange)
{
  exchange.route = Route::metrics;
  const std::string body =
    metrics.render(co_await gauges.render() + advisories.metrics_text(clock.now())
                   + fmt::format("# HELP airlock_open_connections Client connections open now.\n"
                                 "# TYPE airlock_open_connections gauge\n"
                                 "airlock_open_connections {}\n",
                                 open_connections.load(std::memory_order_relaxed)));
  http::response<http::span_body<const char>> response{http::status::ok, 11};
  response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  response.set(http::field::cache_control, "no-store");
  response.body() = {body.data(), body.size()};
  co_await send(exchange, response);
}


void
Server::Impl::begin_shutdown()
{
  if (stopping.exchange(true)) {
    return;
  }
  AIRLOCK_LOG(info, "shutting down: draining in-flight requests");
  beast::error_code ignored;
  acceptor.close(ignored);
  checks.stop();
  signer.stop();
  {
    // Idle keep-alive connections are closed now; busy ones finish their response first.
    std::lock_guard lock(sessions_mutex);
    for (auto& session : sessions) {
      if (session.idle) {
        // Runs on the session's strand, where it cannot race the session ending; the session
        // may still have ended before it runs, so look it up again.
        net::post(session.executor, [this, stream = session.stream] {
          std::lock_guard inner(sessions_mutex);
          for (auto& live : sessions) {
            if (live.stream == stream && live.idle) {
              stream->cancel();
            }
          }
        });
      }
    }
  }
  // Whatever is still running after the drain timeout is cut off.
  auto deadline = std::make_shared<net::steady_timer>(ioc, k_drain_timeout);
  deadline->async_wait([this, deadline](beast::error_code) { stop_all(); });
  // Stop as soon as the last session ends.
  net::co_spawn(
    ioc,
    [this]() -> Awaitable<void> {
      net::steady_timer poll(ioc);
      for (;;) {
        {
          std::lock_guard lock(sessions_mutex);
          if (sessions.empty()) {
            break;
          }
        }
        poll.expires_after(std::chrono::milliseconds(20));
        co_await poll.async_wait(use_tuple);
      }
      stop_all();
    },
    net::detached);
}

Server::Server(Config config, const Clock& clock, ServerTestHooks hooks)
  : m_impl(std::make_unique<Impl>(std::move(config), clock, std::move(hooks)))
{
}

Server::~Server() = default;

std::uint16_t
Server::bind()
{
  auto& impl = *m_impl;
  const auto& listen = impl.config.server;
  beast::error_code ec;
  const auto address = net::ip::make_address(listen.listen_host, ec);
  if (ec) {
    throw Error(fmt::format("cannot listen on {}:{}: not an IP address", listen.listen_host, listen.listen_port));
  }
  const tcp::endpoint endpoint(address, listen.listen_port);
  const auto fail = [&](std::string_view what) {
    throw Error(fmt::format("cannot listen on {}:{}: {}: {}", listen.listen_host, listen.listen_port, what,
                            ec.message()));
  };
  if (impl.acceptor.open(endpoint.protocol(), ec); ec) {
    fail("open");
  }
  if (impl.acceptor.set_option(net::socket_base::reuse_address(true), ec); ec) {
    fail("SO_REUSEADDR");
  }
  if (impl.acceptor.bind(endpoint, ec); ec) {
    fail("bind");
  }
  if (impl.acceptor.listen(net::socket_base::max_listen_connections, ec); ec) {
    fail("listen");
  }
  return impl.acceptor.local_endpoint().port();
}

void
Server::run(HandleSignals signals)
{
  auto& impl = *m_impl;
  const auto endpoint = impl.acceptor.local_endpoint();
  const auto host = endpoint.address().is_v6() ? "[" + endpoint.address().to_string() + "]"
                                                 : endpoint.address().to_string();
  net::signal_set signal_set(impl.ioc);
  if (signals == HandleSignals::yes) {
    signal_set.add(SIGINT);
    signal_set.add(SIGTERM);
    signal_set.async_wait([&impl](beast::error_code ec, int signal) {
      if (!ec) {
        AIRLOCK_LOG(info, "received signal {}", signal);
        impl.begin_shutdown();
      }
    });
  }
  // Logged once signals are handled: supervisors may stop Airlock as soon as they read it.
  AIRLOCK_LOG(info, "listening on http://{}:{}/ with {} threads; upstream {}; data in {}", host, endpoint.port(),
              impl.threads, impl.config.upstream.index, impl.config.storage.path.string());
  if (impl.signer.enabled()) {
    impl.signer.publish();
    net::co_spawn(impl.ioc, impl.signer.keep_fresh(), net::detached);
  }
  impl.advisories.start();
  net::co_spawn(impl.ioc, impl.listen(), [](std::exception_ptr error) {
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        AIRLOCK_LOG(error, "listener failed: {}", e.what());
      }
    }
  });
  std::vector<std::thread> runners;
  for (auto& context : impl.session_contexts) {
    runners.emplace_back([&context] { context->run(); });
  }
  impl.ioc.run();
  impl.stop_all(); // also when thread 0 ended otherwise
  for (auto& runner : runners) {
    runner.join();
  }
  AIRLOCK_LOG(info, "stopped");
}

void
Server::stop()
{
  net::post(m_impl->ioc, [impl = m_impl.get()] { impl->begin_shutdown(); });
}

bool
Server::wait_for_checks(std::chrono::milliseconds limit)
{
  return m_impl->checks.wait_idle(limit);
}

storage::Store&
Server::store()
{
  return m_impl->store;
}

} // namespace airlock::proxy
