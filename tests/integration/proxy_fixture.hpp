#pragma once

// The fixture of the integration tests: a real Server on 127.0.0.1:0 with a real LMDB store
// in a temp dir, a fake upstream that misbehaves on request, and a ManualClock.

#include "fake_upstream.hpp"
#include "http_client.hpp"
#include "testutil.hpp"

#include <airlock/proxy/server.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <functional>
#include <thread>

namespace airlock::test {

using namespace std::chrono_literals;

inline const Time k_now = Time{std::chrono::sys_days{std::chrono::year{2026} / 3 / 24}} + 10h;

// Compares payloads without printing megabytes of binary when they differ.
inline ::testing::AssertionResult
same_bytes(const std::string& got, const std::string& expected)
{
  if (got == expected) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "bytes differ: got " << got.size() << " bytes, expected "
                                       << expected.size() << (got.size() < 200 ? ": " + got : std::string());
}

// The inflated bytes of a gzip body.
inline std::string
gunzip(const std::string& data)
{
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 15 + 16), Z_OK);
  std::string out;
  char buffer[65536];
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof(buffer);
    result = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - stream.avail_out);
  }
  EXPECT_EQ(result, Z_STREAM_END);
  inflateEnd(&stream);
  return out;
}

class ProxyTest : public ::testing::Test
{
protected:
  ~ProxyTest() override { stop(); }

  void start()
  {
    proxy::Config config;
    config.server.listen_host = "127.0.0.1";
    config.server.listen_port = 0;
    config.server.threads = 2;
    config.upstream.index = upstream.index_url();
    config.upstream.timeout = 2s;
    config.upstream.refresh = 10min;
    config.storage.path = dir.path() / "data";
    config.storage.map_size = 64ULL << 20;
    if (configure) {
      configure(config);
    }
    server = std::make_unique<proxy::Server>(config, clock, hooks);
    port = server->bind();
    thread = std::thread([this] { server->run(proxy::HandleSignals::no); });
  }

  void stop()
  {
    if (server) {
      server->stop();
      thread.join();
      server.reset();
    }
  }

  std::function<void(proxy::Config&)> configure; // set before start() to change the config
  // Set before start(). A stale listing is refreshed before the answer, so a test that
  // advances the fake clock sees upstream's change on its next request; the tests of
  // stale-while-revalidate itself turn it back on.
  proxy::ServerTestHooks hooks{.upstream_ca_file = {}, .stale_while_revalidate = false};

  // Fetches a project page, then lets the background checks it started finish, so that
  // what a test looks at next does not race them.
  HttpResponse json_page(const std::string& project)
  {
    auto response = http_get(port, "/simple/" + project + "/", {{"Accept", "application/vnd.pypi.simple.v1+json"}});
    EXPECT_TRUE(server->wait_for_checks());
    return response;
  }

  static std::vector<std::string> filenames(const HttpResponse& response)
  {
    std::vector<std::string> out;
    const auto page = boost::json::parse(response.body).as_object();
    for (const auto& file : page.at("files").as_array()) {
      out.emplace_back(file.at("filename").as_string());
    }
    return out;
  }

  FakeFile old_file(const std::string& filename, int seed, std::size_t size = 1000)
  {
    FakeFile file;
    file.filename = filename;
    // Wheels are real zip archives: Airlock reads their directory.
    file.content = filename.ends_with(".whl") ? make_wheel(size, seed) : make_payload(size, seed);
    file.upload_time = k_now - std::chrono::days{30};
    return file;
  }

  std::string file_url(const FakeFile& file) { return "/files/" + file.sha256().hex() + "/" + file.filename; }

  // Every regular file under the blob store, except its temp dir.
  std::vector<std::filesystem::path> blob_files()
  {
    std::vector<std::filesystem::path> out;
    const auto root = dir.path() / "data" / "blobs";
    if (!std::filesystem::exists(root)) {
      return out;
    }
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
      if (entry.is_regular_file() && entry.path().parent_path() != root / "tmp") {
        out.push_back(entry.path());
      }
    }
    return out;
  }

  // blob_files() once it holds `count` files, or after 5 s: a download's blob is committed
  // (fsynced, renamed, indexed) just after its response.
  std::vector<std::filesystem::path> wait_for_blob_files(std::size_t count)
  {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    auto files = blob_files();
    while (files.size() < count && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
      files = blob_files();
    }
    return files;
  }

  TempDir dir;
  FakeUpstream upstream;
  ManualClock clock{k_now};
  std::unique_ptr<proxy::Server> server;
  std::thread thread;
  std::uint16_t port = 0;
};

} // namespace airlock::test
