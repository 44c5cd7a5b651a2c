#pragma once

// Private to proxy/: the background checks of new upstream files — PEP 740 provenance,
// fetched from upstream and verified offline, and the contents of wheels (.pth files,
// top-level names), read from their zip directory with HTTP Range requests.

#include "http/net.hpp"

#include <airlock/policy/provenance.hpp>
#include <airlock/proxy/config.hpp>
#include <airlock/storage/store.hpp>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace airlock::proxy {

class Metrics;
class UpstreamClient;
class Writer;

// Runs checks with bounded concurrency, off the request path: the index never waits for
// them. Results go to the store; `on_checked(project)` then tells the index to decide again
// (it is also called when a listing first shows a file removed upstream: snapshots withhold
// it from then on, and their pages and signatures must follow).
// A check that fails transiently (upstream down) is retried later; the file stays "checks
// pending" meanwhile, which keeps it from approval (fail closed). Thread-safe.
class CheckRunner
{
public:
  // `trusted_root` null: provenance checks are off (files are recorded as without provenance).
  CheckRunner(net::any_io_executor executor, const Config& config, const Clock& clock, storage::Store& store,
              UpstreamClient& upstream, Writer& writer, Metrics& metrics,
              std::shared_ptr<const policy::TrustedRoot> trusted_root,
              std::function<void(const std::string&)> on_checked);

  // Queues the files of a listing that policy needs checked (`needed`, by index) and whose
  // checks are missing or unfinished. Cheap; never blocks.
  void schedule(const storage::Listing& listing, const std::vector<bool>& needed);
  // Inspects a wheel again from its verified bytes (`fd`, the downloaded file) when its
  // inspection read upstream by Range; a difference is stored (the file is held) and returned
  // as the error. Succeeds at once for anything else.
  Awaitable<Expected<void>> reinspect(const storage::FileRecord& file, int fd);
  // Stops starting new checks (shutdown).
  void stop();
  // Waits until nothing is queued or running, at most `limit`; true when idle. For tests.
  bool wait_idle(std::chrono::milliseconds limit);

private:
  struct Job
  {
    storage::FileRecord file;
  };

  void start_more();
  Awaitable<void> run(Job job);
  Awaitable<void> check_provenance(const storage::FileRecord& file, storage::FileChecks& checks);
  using ReadRange = std::function<Awaitable<Expected<std::string>>(std::uint64_t offset, std::uint64_t length)>;
  Awaitable<void> inspect_wheel(const storage::FileRecord& file, storage::FileChecks& checks, const ReadRange& read);
  Awaitable<Expected<std::string>> read_range(const storage::FileRecord& file, std::uint64_t offset,
                                              std::uint64_t length);
  std::string provenance_url(const storage::FileRecord& file) const;

  net::any_io_executor m_executor;
  const Config& m_config;
  const Clock& m_clock;
  storage::Store& m_store;
  UpstreamClient& m_upstream;
  Writer& m_writer;
  Metrics& m_metrics;
  std::shared_ptr<const policy::TrustedRoot> m_trusted_root;
  std::function<void(const std::string&)> m_on_checked;

  std::mutex m_mutex;
  std::deque<Job> m_queue;
  std::set<std::string> m_known; // job_key(file): queued or running
  int m_running = 0;
  std::condition_variable m_idle;
  bool m_stopped = false;
};

// Loads [provenance] trusted_root; nullptr when not configured. Throws ConfigError when the
// file cannot be read or parsed.
std::shared_ptr<const policy::TrustedRoot> load_trusted_root(const Config& config);

} // namespace airlock::proxy
