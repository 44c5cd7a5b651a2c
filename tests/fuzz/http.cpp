// HTTP requests from clients, end to end: raw bytes on a TCP connection to a real Server
// (Beast's request parser, then Airlock's routing, path and name checks, content negotiation,
// file and page handlers, snapshots, TUF and the admin API) on 127.0.0.1, with a real LMDB store
// in a temp dir, TUF keys, and a fake upstream listing one project. "alk_FUZZTOKEN" in an input stands for
// an admin token made at startup, so the fuzzer reaches the admin API behind authentication, and
// "FUZZSHA" for the sha256 of the listed 1.0 wheel.
// Properties: the server answers every connection with HTTP responses (or closes it), never
// a 500 (an exception escaping a handler), and keeps serving.

#include "fuzz.hpp"

#include "admin/auth.hpp"
#include "fake_upstream.hpp"

#include <airlock/proxy/server.hpp>
#include <airlock/tuf/repository.hpp>
#include <airlock/util/log.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

using namespace airlock;
using namespace std::chrono_literals;

namespace {

const Time k_now = Time{std::chrono::sys_days{std::chrono::year{2026} / 3 / 24}} + 10h;
constexpr std::string_view k_token_placeholder = "alk_FUZZTOKEN";
constexpr std::string_view k_sha_placeholder = "FUZZSHA";

void
replace_all(std::string& text, std::string_view from, const std::string& to)
{
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

struct World
{
  std::filesystem::path dir;
  test::FakeUpstream upstream;
  ManualClock clock{k_now};
  std::unique_ptr<proxy::Server> server;
  std::thread thread;
  std::uint16_t port = 0;
  std::string token;
  std::string wheel_sha256; // of sample_project-1.0-py3-none-any.whl

  World()
  {
    char pattern[] = "/tmp/airlock-fuzz-http-XXXXXX";
    FUZZ_CHECK(::mkdtemp(pattern) != nullptr);
    dir = pattern;
    add("sample-project", "sample_project-1.0-py3-none-any.whl", 30 * 24h, true);
    add("sample-project", "sample_project-1.0.tar.gz", 30 * 24h, false);
    add("sample-project", "sample_project-2.0-py3-none-any.whl", 1h, true); // quarantined

    proxy::Config config;
    config.server.listen_host = "127.0.0.1";
    config.server.listen_port = 0;
    config.server.threads = 1;
    config.upstream.index = upstream.index_url();
    config.upstream.timeout = 2s;
    config.storage.path = dir / "data";
    config.storage.map_size = 256ULL << 20;
    FUZZ_CHECK(tuf::Repository::init(config.storage.path / "tuf", k_now).has_value());
    server = std::make_unique<proxy::Server>(config, clock);
    port = server->bind();
    thread = std::thread([this] { server->run(proxy::HandleSignals::no); });

    auto made = proxy::make_token("fuzz", storage::Role::admin, k_now);
    storage::AuditEntry entry;
    entry.time = k_now;
    entry.actor = "fuzz";
    entry.action = "token-create";
    server->store().put_token(made.record, entry);
    token = made.token;
    exchange("GET /simple/sample-project/ HTTP/1.1\r\nHost: a\r\n\r\n");
    server->wait_for_checks();
  }

  ~World()
  {
    server->stop();
    thread.join();
    server.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  void add(const std::string& project, const std::string& filename, Seconds age, bool wheel)
  {
    test::FakeFile file;
    file.filename = filename;
    file.content = wheel ? test::make_wheel(2000, 1, {{"x.pth", "import os\n"}}) : test::make_payload(1000, 2);
    file.upload_time = k_now - age;
    file.metadata = "Metadata-Version: 2.1\nName: sample-project\nVersion: 1.0\n";
    if (wheel_sha256.empty()) {
      wheel_sha256 = file.sha256().hex();
    }
    upstream.add_file(project, std::move(file));
  }

  // Sends `bytes`, half-closes, and returns everything the server writes until it closes.
  std::string exchange(const std::string& bytes) const
  {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // libFuzzer's SIGALRM (its -timeout watchdog) interrupts system calls: a connect goes on
    // in the background then, and send/recv are simply retried.
    bool connected = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
    if (!connected && errno == EINTR) {
      pollfd waiting{fd, POLLOUT, 0};
      int error = 0;
      socklen_t length = sizeof(error);
      while (::poll(&waiting, 1, 10'000) < 0 && errno == EINTR) {
      }
      connected = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
      errno = error;
    }
    if (!connected) {
      std::fprintf(stderr, "fuzz_http: the server stopped accepting connections: %s\n", std::strerror(errno));
      std::abort();
    }
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break; // the server may close early on a bad request
      }
      sent += static_cast<std::size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
    std::string out;
    char buffer[65536];
    while (true) {
      const auto n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          std::fprintf(stderr, "fuzz_http: no answer within 10 s\n");
          std::abort();
        }
        break;
      }
      out.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
  }
};

World* g_world = nullptr;

} // namespace

extern "C" int
LLVMFuzzerInitialize(int*, char***)
{
  log::set_level(log::Level::error);
  static World world;
  g_world = &world;
  return 0;
}

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  std::string request(fuzz::as_text(data, size));
  replace_all(request, k_token_placeholder, g_world->token);
  replace_all(request, k_sha_placeholder, g_world->wheel_sha256);
  const auto response = g_world->exchange(request);
  if (!response.empty()) {
    // Beast answers an HTTP/1.0 request in HTTP/1.0.
    if (!response.starts_with("HTTP/1.0 ")) {
      FUZZ_CHECK_EQ(response.substr(0, 9), "HTTP/1.1 ");
    }
  }
  if (response.find("HTTP/1.1 500 ") != std::string::npos) {
    FUZZ_CHECK_EQ(response, "no 500 response");
  }
  return 0;
}
