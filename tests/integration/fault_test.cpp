// Faults and hostile clients (issue 6): with upstream down, dripping, stalling or speaking the
// wrong protocol, with the disk or the LMDB map full, and under slowloris, garbage requests and
// connection floods, Airlock keeps serving what it approved, answers a clear error for what it
// cannot, never serves a wrong byte, stays bounded, and recovers when the fault goes away.

#include "proxy_fixture.hpp"

#include <airlock/storage/fsck.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <sys/resource.h>

#include <csignal>
#include <fstream>
#include <thread>

namespace airlock::test {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;

// Sanitizers multiply what memory costs (GCC says __SANITIZE_*__, clang __has_feature).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool k_sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool k_sanitized = true;
#else
constexpr bool k_sanitized = false;
#endif
#else
constexpr bool k_sanitized = false;
#endif

class FaultTest : public ProxyTest
{
protected:
  // The store is sound after the fault: every blob matches its name and every index entry
  // has its blob.
  void expect_store_sound()
  {
    stop();
    storage::Options options;
    options.path = dir.path() / "data";
    options.map_size = 64ULL << 20;
    const auto report = storage::fsck(options, storage::Repair::no);
    EXPECT_TRUE(report.ok());
    for (const auto& problem : report.problems) {
      ADD_FAILURE() << storage::to_string(problem.issue) << " " << problem.where << ": " << problem.detail;
    }
  }

  static std::string one_line(const HttpResponse& response)
  {
    return response.body.substr(0, response.body.find('\n'));
  }
};

// A connected socket to the server, for requests the test writes by hand.
tcp::socket
connect_raw(net::io_context& ioc, std::uint16_t port)
{
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  return socket;
}

// The resident set of this process (server and test), in bytes.
std::uint64_t
resident_bytes()
{
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0;
  std::uint64_t resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

TEST_F(FaultTest, UpstreamDownKeepsServingWhatWasApprovedAndRecovers)
{
  const auto cached = old_file("down-1.0-py3-none-any.whl", 30);
  const auto uncached = old_file("down-1.1-py3-none-any.whl", 31);
  upstream.add_file("down", cached);
  upstream.add_file("down", uncached);
  upstream.add_file("never", old_file("never-1.0.tar.gz", 32));
  start();
  ASSERT_EQ(filenames(json_page("down")).size(), 2u);
  ASSERT_EQ(http_get(port, file_url(cached)).status, 200u);

  upstream.set_offline(true);
  clock.advance(1h); // the listing is stale: Airlock asks upstream, which is gone
  const auto page = json_page("down");
  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(filenames(page).size(), 2u) << "the last good listing is served";
  const auto served = http_get(port, file_url(cached));
  EXPECT_EQ(served.status, 200u);
  EXPECT_TRUE(same_bytes(served.body, cached.content));
  const auto missing = http_get(port, file_url(uncached));
  EXPECT_EQ(missing.status, 502u);
  EXPECT_FALSE(one_line(missing).empty());
  const auto never = json_page("never");
  EXPECT_EQ(never.status, 502u);
  EXPECT_FALSE(one_line(never).empty());

  upstream.set_offline(false);
  clock.advance(1h);
  EXPECT_EQ(json_page("never").status, 200u) << "recovers when upstream does";
  const auto recovered = http_get(port, file_url(uncached));
  EXPECT_EQ(recovered.status, 200u);
  EXPECT_TRUE(same_bytes(recovered.body, uncached.content));
  expect_store_sound();
}

TEST_F(FaultTest, HungUpstreamNeverHoldsWhatIsCachedAndUncachedPagesAnswer504InTime)
{
  configure = [](proxy::Config& config) { config.upstream.timeout = 2s; };
  hooks.stale_while_revalidate = true;
  const auto cached = old_file("hung-1.0-py3-none-any.whl", 40);
  upstream.add_file("hung", cached);
  upstream.add_file("unseen", old_file("unseen-1.0.tar.gz", 41));
  start();
  ASSERT_EQ(filenames(json_page("hung")).size(), 1u);
  ASSERT_EQ(http_get(port, file_url(cached)).status, 200u);

  upstream.set_page_behaviour("hung", PageBehaviour::hang);
  upstream.set_page_behaviour("unseen", PageBehaviour::hang);
  clock.advance(1h); // the listing is stale: refreshed in the background, where upstream hangs
  const auto timed = [&](auto request) {
    const auto started = std::chrono::steady_clock::now();
    auto response = request();
    return std::pair{std::move(response), std::chrono::steady_clock::now() - started};
  };
  for (int i = 0; i < 5; ++i) {
    const auto [page, page_time] = timed([&] { return json_page("hung"); });
    EXPECT_EQ(page.status, 200u);
    EXPECT_EQ(filenames(page).size(), 1u) << "the last good listing answers";
    EXPECT_LT(page_time, 500ms) << "a cached page never waits for the hung upstream";
    const auto [file, file_time] = timed([&] { return http_get(port, file_url(cached)); });
    EXPECT_EQ(file.status, 200u);
    EXPECT_LT(file_time, 500ms);
  }
  EXPECT_EQ(upstream.page_requests("hung"), 2) << "one background refresh, however many requests";

  const auto [never, never_time] = timed([&] { return json_page("unseen"); });
  EXPECT_EQ(never.status, 504u);
  EXPECT_NE(one_line(never).find("upstream timed out"), std::string::npos) << never.body;
  EXPECT_LT(never_time, 4s) << "within [upstream] timeout (2 s), not pip's 15 s";

  std::this_thread::sleep_for(2500ms); // the background refresh times out too
  const auto metrics = http_get(port, "/-/metrics").body;
  EXPECT_NE(metrics.find("airlock_upstream_up 0"), std::string::npos);
  EXPECT_EQ(metrics.find("airlock_upstream_timeouts_total 0"), std::string::npos);
  upstream.set_page_behaviour("hung", PageBehaviour::json);
  upstream.set_page_behaviour("unseen", PageBehaviour::json);
}

TEST_F(FaultTest, AListingCannotSendAirlockToAnotherHost)
{
  // 127.0.0.2 is loopback too: were Airlock to fetch from it, nothing would leave the machine.
  auto elsewhere = old_file("elsewhere-1.0-py3-none-any.whl", 42);
  elsewhere.listed_url = fmt::format("http://127.0.0.2:{}/packages/x/{}", upstream.port(), elsewhere.filename);
  upstream.add_file("elsewhere", elsewhere);
  const auto here = old_file("elsewhere-1.1-py3-none-any.whl", 43);
  upstream.add_file("elsewhere", here);
  start();
  EXPECT_EQ(filenames(json_page("elsewhere")), std::vector<std::string>{here.filename});
  const auto refused = http_get(port, file_url(elsewhere));
  EXPECT_EQ(refused.status, 403u);
  EXPECT_NE(refused.body.find("file URL on a host that is not allowed: 127.0.0.2"), std::string::npos)
    << refused.body;
  EXPECT_EQ(upstream.file_requests(elsewhere.filename), 0);
  EXPECT_EQ(http_get(port, file_url(here)).status, 200u);
}

TEST_F(FaultTest, SlowDripIsRelayedWhileOtherRequestsAreServed)
{
  auto drip = old_file("drip-1.0-py3-none-any.whl", 33, 30'000);
  drip.behaviour = FileBehaviour::slow; // 30 pieces, 100 ms apart: slower than the 2 s timeout in all
  const auto quick = old_file("drip-1.1-py3-none-any.whl", 34);
  upstream.add_file("drip", drip);
  upstream.add_file("drip", quick);
  start();
  ASSERT_EQ(json_page("drip").status, 200u);
  HttpResponse dripped;
  std::thread slow([&] { dripped = http_get(port, file_url(drip)); });
  // While the drip runs, other requests get their answers.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(http_get(port, "/-/health").status, 200u);
  EXPECT_EQ(http_get(port, file_url(quick)).status, 200u);
  slow.join();
  EXPECT_EQ(dripped.status, 200u);
  EXPECT_TRUE(dripped.complete);
  EXPECT_TRUE(same_bytes(dripped.body, drip.content)) << "a slow upstream that keeps sending is followed";
  EXPECT_TRUE(same_bytes(http_get(port, file_url(drip)).body, drip.content));
  EXPECT_EQ(upstream.file_requests(drip.filename), 1) << "and what it sent is cached";
}

TEST_F(FaultTest, StalledDownloadIsCutNothingIsCachedAndTheNextTryWorks)
{
  auto stalled = old_file("stall-1.0-py3-none-any.whl", 35, 200'000);
  stalled.behaviour = FileBehaviour::stall;
  upstream.add_file("stall", stalled);
  start();
  ASSERT_EQ(json_page("stall").status, 200u);
  const auto cut = http_get(port, file_url(stalled));
  EXPECT_FALSE(cut.complete && cut.status == 200u) << "a stalled upstream must not look like a download";
  EXPECT_TRUE(blob_files().empty());

  upstream.set_file_behaviour(stalled.filename, FileBehaviour::normal);
  const auto retried = http_get(port, file_url(stalled));
  EXPECT_EQ(retried.status, 200u);
  EXPECT_TRUE(same_bytes(retried.body, stalled.content));
  expect_store_sound();
}

TEST_F(FaultTest, RedirectsAreFollowedAndLoopsRefused)
{
  auto moved = old_file("moved-1.0-py3-none-any.whl", 40, 100'000);
  moved.behaviour = FileBehaviour::redirect;
  upstream.add_file("moved", moved);
  upstream.set_page_behaviour("moved", PageBehaviour::redirect);
  upstream.add_file("loop", old_file("loop-1.0.tar.gz", 41));
  upstream.set_page_behaviour("loop", PageBehaviour::redirect_loop);
  start();
  const auto page = json_page("moved");
  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(filenames(page), std::vector<std::string>{moved.filename});
  const auto file = http_get(port, file_url(moved));
  EXPECT_EQ(file.status, 200u);
  EXPECT_TRUE(same_bytes(file.body, moved.content));
  const auto loop = json_page("loop");
  EXPECT_EQ(loop.status, 502u);
  EXPECT_NE(one_line(loop).find("redirects"), std::string::npos) << loop.body;
}

TEST_F(FaultTest, TlsFailureIsAClear502)
{
  upstream.add_file("tls", old_file("tls-1.0.tar.gz", 36));
  // The fake upstream speaks plain HTTP: the TLS handshake Airlock insists on fails.
  configure = [this](proxy::Config& config) {
    config.upstream.index = "https://127.0.0.1:" + std::to_string(upstream.port()) + "/simple/";
  };
  start();
  const auto page = json_page("tls");
  // The plain-HTTP fake reads the ClientHello as a bad request and hangs up.
  EXPECT_EQ(page.status, 502u);
  EXPECT_NE(one_line(page).find("TLS handshake"), std::string::npos) << page.body;
  EXPECT_EQ(upstream.page_requests("tls"), 0) << "no request may go out over a failed handshake";
  EXPECT_EQ(http_get(port, "/-/health").status, 200u);
}

// Restores a resource limit (and SIGXFSZ) when the test ends, passed or not.
class LimitGuard
{
public:
  LimitGuard(int resource, rlim_t soft) : m_resource(resource)
  {
    getrlimit(resource, &m_saved);
    rlimit limit = m_saved;
    limit.rlim_cur = std::min(soft, m_saved.rlim_max);
    setrlimit(resource, &limit);
    if (resource == RLIMIT_FSIZE) {
      m_signal = std::signal(SIGXFSZ, SIG_IGN); // a write past the limit fails with EFBIG instead
    }
  }
  ~LimitGuard()
  {
    setrlimit(m_resource, &m_saved);
    if (m_resource == RLIMIT_FSIZE) {
      std::signal(SIGXFSZ, m_signal);
    }
  }
  LimitGuard(const LimitGuard&) = delete;
  LimitGuard& operator=(const LimitGuard&) = delete;

private:
  int m_resource;
  rlimit m_saved{};
  void (*m_signal)(int) = nullptr;
};

TEST_F(FaultTest, DiskFullLosesNothingAndServesOnceThereIsRoom)
{
  const auto small = old_file("disk-1.0-py3-none-any.whl", 37);
  const auto large = old_file("disk-2.0-py3-none-any.whl", 38, 3'000'000);
  upstream.add_file("disk", small);
  upstream.add_file("disk", large);
  start();
  ASSERT_EQ(json_page("disk").status, 200u);
  ASSERT_EQ(http_get(port, file_url(small)).status, 200u);
  ASSERT_EQ(wait_for_blob_files(1).size(), 1u);
  {
    // No file of this process may grow past 2 MiB: the 3 MB blob cannot be written, as on a
    // full disk (EFBIG stands in for ENOSPC; both fail the write).
    const auto data_file = dir.path() / "data" / "index" / "data.mdb";
    ASSERT_LT(std::filesystem::file_size(data_file), 1u << 20);
    LimitGuard limit(RLIMIT_FSIZE, 2u << 20);
    const auto failed = http_get(port, file_url(large));
    EXPECT_FALSE(failed.complete && failed.status == 200u && failed.body != large.content)
      << "never a wrong byte";
    EXPECT_EQ(blob_files().size(), 1u);
    const auto still = http_get(port, file_url(small));
    EXPECT_EQ(still.status, 200u) << "what is cached is still served";
    EXPECT_TRUE(same_bytes(still.body, small.content));
  }
  const auto later = http_get(port, file_url(large));
  EXPECT_EQ(later.status, 200u);
  EXPECT_TRUE(same_bytes(later.body, large.content));
  EXPECT_TRUE(same_bytes(http_get(port, file_url(large)).body, large.content));
  EXPECT_EQ(upstream.file_requests(large.filename), 2) << "cached once there is room";
  expect_store_sound();
}

TEST_F(FaultTest, FullLmdbMapIsAClearErrorAndCorruptsNothing)
{
  const auto first = old_file("first-1.0-py3-none-any.whl", 39);
  upstream.add_file("first", first);
  for (int i = 0; i < 6000; ++i) {
    FakeFile file = old_file(fmt::format("wide-{}.0.tar.gz", i), 1000 + i, 10);
    upstream.add_file("wide", std::move(file));
  }
  configure = [](proxy::Config& config) { config.storage.map_size = 1ULL << 20; };
  start();
  ASSERT_EQ(json_page("first").status, 200u);
  ASSERT_EQ(http_get(port, file_url(first)).status, 200u);
  const auto full = json_page("wide"); // more than a 1 MiB map holds
  EXPECT_EQ(full.status, 503u);
  EXPECT_NE(one_line(full).find("map full"), std::string::npos) << full.body;
  const auto still = http_get(port, file_url(first));
  EXPECT_EQ(still.status, 200u) << "what is stored is still served";
  EXPECT_EQ(json_page("first").status, 200u);
  EXPECT_EQ(http_get(port, "/-/health").status, 200u);
  expect_store_sound();
}

TEST_F(FaultTest, SlowlorisIsCutAtTheRequestTimeout)
{
  configure = [](proxy::Config& config) { config.server.request_timeout = 1s; };
  start();
  net::io_context ioc;
  auto socket = connect_raw(ioc, port);
  net::write(socket, net::buffer(std::string_view("GET /simple/ HTTP/1.1\r\nHost: x\r\n")));
  // One header line every 200 ms would take 10 s; the server hangs up after about 1 s.
  bool closed = false;
  for (int i = 0; i < 50 && !closed; ++i) {
    std::this_thread::sleep_for(200ms);
    boost::system::error_code ec;
    net::write(socket, net::buffer(fmt::format("X-Drip-{}: a\r\n", i)), ec);
    socket.non_blocking(true);
    char byte = 0;
    socket.read_some(net::buffer(&byte, 1), ec);
    closed = ec && ec != net::error::would_block;
    socket.non_blocking(false);
  }
  EXPECT_TRUE(closed) << "a request that never finishes its header must not hold a connection";
  EXPECT_EQ(http_get(port, "/-/health").status, 200u);
}

TEST_F(FaultTest, HostileTargetsGetClear4xx)
{
  start();
  const std::string absurd(100'000, 'a');
  const std::vector<std::string> targets = {
         "/simple/%00/",
         std::string("/simple/a\0b/", 12),
         "/simple/\xff\xfe/",
         "/simple/../../etc/passwd",
         "/files/../../../etc/passwd",
         "/files/" + std::string(64, 'g') + "/x.whl",
         "/files/" + std::string(64, 'a') + "/../x.whl",
         "/simple/" + std::string(300, 'a') + "/",
         "/simple/" + absurd + "/",
         "/snapshots/../simple/",
         "/tuf/metadata/../../keys/root.key",
         "/integrity/%2e%2e/1.0/x.whl/provenance",
       };
  for (const auto& target : targets) {
    const auto answer = raw_exchange(port, "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const auto status_at = answer.find(' ');
    ASSERT_NE(status_at, std::string::npos) << "no answer for " << target.substr(0, 60);
    const char klass = answer[status_at + 1];
    EXPECT_EQ(klass, '4') << target.substr(0, 60) << " -> " << answer.substr(0, 80);
  }
  EXPECT_EQ(upstream.page_requests("etc"), 0);
  EXPECT_EQ(http_get(port, "/-/health").status, 200u) << "the server survives";
}

TEST_F(FaultTest, ThousandsOfConnectionsStayBoundedAndTheLimitAnswers503)
{
  // Room for 3000 sockets on both ends.
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_max < 7000) {
    GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << files.rlim_max << " is below 7000";
  }
  LimitGuard limit(RLIMIT_NOFILE, 7000);
  configure = [](proxy::Config& config) { config.server.max_connections = 3000; };
  start();
  ASSERT_EQ(http_get(port, "/-/health").status, 200u);
  const auto before = resident_bytes();
  net::io_context ioc;
  std::vector<tcp::socket> sockets;
  sockets.reserve(3000);
  for (int i = 0; i < 3000; ++i) {
    sockets.push_back(connect_raw(ioc, port));
    // Half a request each: every connection holds a parser and a buffer on the server.
    net::write(sockets.back(), net::buffer(std::string_view("GET /simple/ HTTP/1.1\r\nHost: x\r\n")));
  }
  // Let the server accept them all, then one more is over the limit.
  for (int i = 0; i < 100; ++i) {
    const auto metrics = http_get(port, "/-/metrics");
    if (metrics.body.find("airlock_connections_rejected_total 0\n") == std::string::npos) {
      break; // the metrics request itself was over the limit: all 3000 are in
    }
    std::this_thread::sleep_for(50ms);
  }
  const auto refused = raw_exchange(port, "GET /-/health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(refused.find(" 503 "), std::string::npos) << refused.substr(0, 100);
  EXPECT_NE(refused.find("too many connections"), std::string::npos);
  const auto grown = resident_bytes() - before;
  std::printf("3000 open connections: +%llu KiB resident\n", static_cast<unsigned long long>(grown >> 10));
  constexpr std::uint64_t k_bound = k_sanitized ? 256u << 20 : 64u << 20; // shadow memory, redzones
  EXPECT_LT(grown, k_bound) << "3000 open connections cost " << (grown >> 20) << " MiB";
  sockets.clear(); // all hang up
  bool answered = false;
  for (int i = 0; i < 100 && !answered; ++i) {
    answered = http_get(port, "/-/health").status == 200u;
    if (!answered) {
      std::this_thread::sleep_for(50ms);
    }
  }
  EXPECT_TRUE(answered) << "the server takes connections again once they close";
  const auto metrics = http_get(port, "/-/metrics").body;
  EXPECT_EQ(metrics.find("airlock_connections_rejected_total 0\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("airlock_open_connections "), std::string::npos);
}

} // namespace
} // namespace airlock::test
