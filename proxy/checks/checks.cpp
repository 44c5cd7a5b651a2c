// The background checks: PEP 740 provenance fetched and verified offline, and wheels read
// through Range requests, with bounded concurrency, retries, and a hold when they fail for good.
#include "checks/checks.hpp"

#include "http/metrics.hpp"
#include "upstream/upstream_client.hpp"
#include "http/writer.hpp"

#include <airlock/policy/filename.hpp>
#include <airlock/policy/wheel.hpp>
#include <airlock/policy/zip.hpp>
#include <airlock/util/log.hpp>

#include <fmt/core.h>

#include <fstream>
#include <sstream>
#include <unistd.h>

namespace airlock::proxy {

namespace {

constexpr int k_max_running = 4;
// Transient failures are retried this many times (about two hours, with retry_delay's backoff)
// before the checks give up for good and the file is held.
constexpr std::uint32_t k_max_attempts = 9;
constexpr std::uint64_t k_max_provenance = 4u << 20;
constexpr std::uint64_t k_max_range = 8u << 20;
constexpr std::size_t k_max_pth_files = 64;
constexpr std::size_t k_max_pth_size = 1u << 20;
constexpr std::size_t k_max_record_size = 16u << 20;
// A wheel from an upstream that ignores Range requests is read whole up to this size.
constexpr std::uint64_t k_max_whole_read = 256u << 20;

std::string
job_key(const storage::FileRecord& file)
{
  std::string key(file.project);
  key += '\0';
  key += file.filename;
  key += '\0';
  key += file.sha256.hex();
  return key;
}

bool
complete(const storage::FileChecks& checks)
{
  return (checks.provenance != storage::ProvenanceState::pending && checks.inspected) || checks.gave_up;
}

// A transient failure: counted, remembered for humans, retried later.
void
note_failure(storage::FileChecks& checks, std::string why)
{
  ++checks.attempts;
  checks.failure = std::move(why);
}

// Transient failures back off: 30 s, 1 min, 2 min, ... at most an hour.
Seconds
retry_delay(std::uint32_t attempts)
{
  return std::min<Seconds>(std::chrono::hours{1}, std::chrono::seconds{30LL << std::min<std::uint32_t>(attempts, 7)});
}

} // namespace

std::shared_ptr<const policy::TrustedRoot>
load_trusted_root(const Config& config)
{
  const auto& path = config.provenance.trusted_root;
  if (path.empty()) {
    return nullptr;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError(fmt::format("provenance.trusted_root: cannot read {}", path.string()));
  }
  std::stringstream content;
  content << in.rdbuf();
  auto root = policy::TrustedRoot::parse(content.str());
  if (!root) {
    throw ConfigError(fmt::format("provenance.trusted_root: {}: {}", path.string(), root.error()));
  }
  return std::make_shared<const policy::TrustedRoot>(std::move(*root));
}

CheckRunner::CheckRunner(net::any_io_executor executor, const Config& config, const Clock& clock,
                         storage::Store& store, UpstreamClient& upstream, Writer& writer, Metrics& metrics,
                         std::shared_ptr<const policy::TrustedRoot> trusted_root,
                         std::function<void(const std::string&)> on_checked)
  : m_executor(std::move(executor)),
    m_config(config),
    m_clock(clock),
    m_store(store),
    m_upstream(upstream),
    m_writer(writer),
    m_metrics(metrics),
    m_trusted_root(std::move(trusted_root)),
    m_on_checked(std::move(on_checked))
{
}

void
CheckRunner::schedule(const storage::Listing& listing, const std::vector<bool>& needed)
{
  const auto checks = m_store.checks(listing.project.name);
  {
    std::lock_guard lock(m_mutex);
    if (m_stopped) {
      return;
    }
    for (std::size_t i = 0; i < listing.files.size() && i < needed.size(); ++i) {
      const auto& file = listing.files[i];
      if (!needed[i]) {
        continue;
      }
      const auto found = checks.find(storage::FileKey{file.filename, file.sha256});
      if (found != checks.end() && complete(found->second)) {
        continue;
      }
      if (found != checks.end() && found->second.attempts > 0
          && m_clock.now() < found->second.checked_at + retry_delay(found->second.attempts)) {
        continue;
      }
      if (m_known.insert(job_key(file)).second) {
        m_queue.push_back(Job{file});
      }
    }
  }
  start_more();
}

void
CheckRunner::stop()
{
  std::lock_guard lock(m_mutex);
  m_stopped = true;
  m_queue.clear();
}

bool
CheckRunner::wait_idle(std::chrono::milliseconds limit)
{
  std::unique_lock lock(m_mutex);
  return m_idle.wait_for(lock, limit, [this] { return m_running == 0 && m_queue.empty(); });
}

void
CheckRunner::start_more()
{
  std::lock_guard lock(m_mutex);
  while (!m_stopped && m_running < k_max_running && !m_queue.empty()) {
    ++m_running;
    auto job = std::move(m_queue.front());
    m_queue.pop_front();
    net::co_spawn(net::make_strand(m_executor), run(std::move(job)), [this](std::exception_ptr error) {
      if (error) {
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          AIRLOCK_LOG(error, "background check failed: {}", e.what());
        }
      }
      {
        std::lock_guard inner(m_mutex);
        --m_running;
      }
      start_more();
      m_idle.notify_all();
    });
  }
}

Awaitable<void>
CheckRunner::run(Job job)
{
  const auto& file = job.file;
  auto checks = m_store.file_checks(file).value_or(storage::FileChecks{});
  if (checks.provenance == storage::ProvenanceState::pending) {
    co_await check_provenance(file, checks);
  }
  if (!checks.inspected) {
    co_await inspect_wheel(file, checks, [&](std::uint64_t offset, std::uint64_t length) {
      return read_range(file, offset, length);
    });
  }
  if (!complete(checks) && checks.attempts >= k_max_attempts) {
    checks.gave_up = true;
    AIRLOCK_LOG(error, "checks of {} gave up after {} attempts: {}", file.filename, checks.attempts, checks.failure);
  }
  checks.checked_at = m_clock.now();
  co_await m_writer.run([&] { m_store.put_checks(file, checks); });
  {
    std::lock_guard lock(m_mutex);
    m_known.erase(job_key(file));
  }
  if (complete(checks) && !checks.gave_up) {
    AIRLOCK_LOG(info, "checked {}: provenance {}{}{}", file.filename,
                checks.provenance == storage::ProvenanceState::verified ? "verified"
                : checks.provenance == storage::ProvenanceState::absent ? "absent"
                                                                        : "invalid",
                checks.reason.empty() ? "" : ": ", checks.reason);
  }
  m_on_checked(file.project);
}

std::string
CheckRunner::provenance_url(const storage::FileRecord& file) const
{
  if (file.provenance_url) {
    return *file.provenance_url; // what the listing said (PEP 740), "" for none
  }
  if (file.version.empty()) {
    return {}; // the path below needs the version
  }
  // Said nothing: PyPI's Integrity API sits beside its Simple API,
  // <host>/integrity/<project>/<version>/<file>/provenance.
  auto resolved = resolve_url(m_config.upstream.index,
                              fmt::format("../integrity/{}/{}/{}/provenance", file.project, file.version, file.filename));
  return resolved ? *resolved : std::string();
}

Awaitable<void>
CheckRunner::check_provenance(const storage::FileRecord& file, storage::FileChecks& checks)
{
  if (!m_trusted_root) {
    checks.provenance = storage::ProvenanceState::absent;
    checks.reason = "provenance checks are off ([provenance] trusted_root is not set)";
    co_return;
  }
  if (file.provenance_url && file.provenance_url->empty()) {
    checks.provenance = storage::ProvenanceState::absent;
    checks.reason = "the upstream listing says the file has no provenance";
    m_metrics.count_provenance("absent");
    co_return;
  }
  const std::string url = provenance_url(file);
  if (url.empty()) {
    checks.provenance = storage::ProvenanceState::absent;
    checks.reason = "the filename carries no version to look provenance up by";
    co_return;
  }
  auto body = co_await m_upstream.get_stream(url, k_max_provenance);
  if (!body || ((*body)->status() != 200 && (*body)->status() != 404)) {
    note_failure(checks, "provenance: " + (body ? fmt::format("upstream answered {}", (*body)->status()) : body.error()));
    m_metrics.count_upstream_error(false);
    AIRLOCK_LOG(warn, "{} of {} (will retry)", checks.failure, file.filename);
    co_return;
  }
  if ((*body)->status() == 404) {
    checks.provenance = storage::ProvenanceState::absent;
    checks.reason = "upstream has no provenance for this file";
    m_metrics.count_provenance("absent");
    co_return;
  }
  auto document = co_await (*body)->read_all();
  if (!document) {
    note_failure(checks, "provenance: " + document.error());
    AIRLOCK_LOG(warn, "{} of {} (will retry)", checks.failure, file.filename);
    co_return;
  }
  const auto result = policy::verify_provenance(*document, file.filename, file.sha256, *m_trusted_root, nullptr);
  if (result.status == policy::ProvenanceStatus::verified && result.publisher) {
    checks.provenance = storage::ProvenanceState::verified;
    checks.publisher_kind = result.publisher->kind;
    checks.repository = result.publisher->repository;
    checks.workflow = result.publisher->workflow;
    checks.email = result.publisher->email;
    checks.repository_id = result.repository_id;
    checks.owner_id = result.owner_id;
    checks.signed_at = result.signed_at;
    checks.document = std::move(*document);
    m_metrics.count_provenance("verified");
  } else {
    checks.provenance = storage::ProvenanceState::invalid;
    checks.reason_class = result.reason_class.empty() ? "malformed" : result.reason_class;
    checks.reason = result.reason;
    m_metrics.count_provenance("invalid");
  }
}

Awaitable<Expected<std::string>>
CheckRunner::read_range(const storage::FileRecord& file, std::uint64_t offset, std::uint64_t length)
{
  if (length > k_max_range && length != file.size) {
    co_return make_unexpected(fmt::format("refusing to read {} bytes of the archive directory", length));
  }
  // A cached copy is read locally; it is the same bytes (verified by its name).
  if (auto blob = m_store.blobs().open(file.sha256)) {
    std::string out(length, '\0');
    const auto got = ::pread(blob->fd.get(), out.data(), length, static_cast<off_t>(offset));
    if (got != static_cast<ssize_t>(length)) {
      co_return make_unexpected("short read of the cached file");
    }
    co_return out;
  }
  auto body = co_await m_upstream.get_stream(file.url, file.size, UpstreamClient::Range{offset, length});
  if (!body) {
    co_return make_unexpected(body.error());
  }
  const unsigned status = (*body)->status();
  if (status != 206 && status != 200) {
    co_return make_unexpected(fmt::format("upstream answered {}", status));
  }
  if (status == 200 && file.size > k_max_whole_read) {
    co_return make_unexpected("upstream ignores Range requests and the wheel is too large to read whole");
  }
  auto read = co_await (*body)->read_all();
  if (!read) {
    co_return make_unexpected(read.error());
  }
  std::string content = std::move(*read);
  if (status == 200) {
    // The whole file: its hash must be what upstream declared before anything in it counts.
    if (content.size() != file.size || Sha256::of(content) != file.sha256) {
      co_return make_unexpected("the wheel's bytes do not match its declared sha256");
    }
    if (offset + length > content.size()) {
      co_return make_unexpected("range beyond the end of the file");
    }
    co_return content.substr(offset, length);
  }
  if (content.size() != length) {
    co_return make_unexpected(fmt::format("upstream sent {} bytes for a {}-byte range", content.size(), length));
  }
  co_return content;
}

Awaitable<void>
CheckRunner::inspect_wheel(const storage::FileRecord& file, storage::FileChecks& checks, const ReadRange& read)
{
  const auto parsed = policy::parse_filename(file.filename, file.project);
  if (!parsed || parsed->kind != policy::DistributionKind::wheel) {
    checks.inspected = true; // only wheels ship .pth files that pip installs verbatim
    co_return;
  }
  const auto fail = [&](std::string why) {
    checks.inspected = true;
    checks.inspection_error = std::move(why);
  };
  const auto retry = [&](std::string why) {
    note_failure(checks, "inspection: " + why);
    AIRLOCK_LOG(warn, "inspecting {}: {} (will retry)", file.filename, why);
  };
  const bool cached = m_store.blobs().contains(file.sha256);
  if (file.size == 0) {
    // Upstream listed no size (HTML pages do not): ask for one byte and read the total.
    std::uint64_t size = 0;
    if (auto blob = m_store.blobs().open(file.sha256)) {
      size = blob->size;
    } else if (auto probe = co_await m_upstream.get_stream(file.url, 1, UpstreamClient::Range{0, 1}); probe) {
      size = (*probe)->range_total().value_or(0);
    }
    if (size == 0) {
      retry("cannot learn its size");
      co_return;
    }
    auto sized = file;
    sized.size = size;
    co_await inspect_wheel(sized, checks, [&](std::uint64_t offset, std::uint64_t length) {
      return read_range(sized, offset, length);
    });
    co_return;
  }
  const std::uint64_t tail_length = policy::tail_read_size(file.size);
  const std::uint64_t tail_start = file.size - tail_length;
  auto tail = co_await read(tail_start, tail_length);
  if (!tail) {
    retry(tail.error());
    co_return;
  }
  // Reads what the tail already holds from it: a small wheel costs one request.
  const auto read_part = [&](std::uint64_t offset, std::uint64_t length) -> Awaitable<Expected<std::string>> {
    if (offset >= tail_start && offset - tail_start <= tail->size()) {
      co_return tail->substr(offset - tail_start, length);
    }
    co_return co_await read(offset, length);
  };
  const auto where = policy::locate_central_directory(*tail, file.size);
  if (!where) {
    fail("not a readable zip archive: " + where.error());
    co_return;
  }
  auto directory = co_await read_part(where->offset, where->size);
  if (!directory) {
    retry(directory.error());
    co_return;
  }
  const auto entries = policy::parse_central_directory(*directory, *where, file.size);
  if (!entries) {
    fail("unsafe or malformed zip directory: " + entries.error());
    co_return;
  }
  const auto record_name = policy::record_entry(*entries);
  if (!record_name) {
    fail(record_name.error());
    co_return;
  }
  auto wanted = policy::startup_files(*entries);
  if (wanted.size() > k_max_pth_files) {
    fail(fmt::format("ships {} .pth files", wanted.size()));
    co_return;
  }
  std::map<std::string, std::string> contents;
  std::string record;
  for (const auto& entry : *entries) {
    const bool is_record = entry.name == *record_name;
    if (!is_record && std::find(wanted.begin(), wanted.end(), entry.name) == wanted.end()) {
      continue;
    }
    auto local = co_await read_part(entry.local_header_offset, policy::local_read_size(entry));
    if (!local) {
      retry(local.error());
      co_return;
    }
    auto content = policy::extract_entry(entry, *local, is_record ? k_max_record_size : k_max_pth_size);
    if (is_record) {
      if (!content) {
        fail("RECORD cannot be read: " + content.error());
        co_return;
      }
      record = std::move(*content);
    } else if (content) {
      contents.emplace(entry.name, std::move(*content));
    } // unreadable startup code counts as executable, of unknown content, in summarize()
  }
  if (auto agrees = policy::check_record(*entries, record, contents); !agrees) {
    fail("the archive disagrees with its RECORD: " + agrees.error());
    co_return;
  }
  const auto summary = policy::summarize(*entries, contents);
  checks.executable_pth = summary.executable_pth;
  checks.top_level = summary.top_level;
  checks.inspected = true;
  // Bytes read from upstream by Range are not yet the verified file: the first full download
  // inspects again. A cached blob is verified already.
  checks.inspected_by_range = !cached;
}

Awaitable<Expected<void>>
CheckRunner::reinspect(const storage::FileRecord& file, int fd)
{
  auto stored = m_store.file_checks(file);
  if (!stored || !stored->inspected || !stored->inspected_by_range) {
    co_return Expected<void>{};
  }
  storage::FileChecks fresh;
  co_await inspect_wheel(file, fresh, [fd](std::uint64_t offset, std::uint64_t length) -> Awaitable<Expected<std::string>> {
    std::string out(length, '\0');
    const auto got = ::pread(fd, out.data(), length, static_cast<off_t>(offset));
    if (got != static_cast<ssize_t>(length)) {
      co_return make_unexpected("short read of the downloaded file");
    }
    co_return out;
  });
  auto checks = *stored;
  checks.inspected_by_range = false;
  std::string difference;
  if (!fresh.inspected) {
    difference = "the verified bytes could not be read: " + fresh.failure;
  } else if (fresh.inspection_error != stored->inspection_error || fresh.executable_pth != stored->executable_pth
             || fresh.top_level != stored->top_level) {
    difference = fresh.inspection_error.empty() ? "their startup code or top-level names differ"
                                                : "they show: " + fresh.inspection_error;
  }
  if (!difference.empty()) {
    checks.inspection_error =
      "the bytes upstream served in full differ from those its Range answers showed at inspection: " + difference;
    AIRLOCK_LOG(error, "holding {}: {}", file.filename, checks.inspection_error);
  }
  co_await m_writer.run([&] { m_store.put_checks(file, checks); });
  m_on_checked(file.project);
  if (!difference.empty()) {
    co_return make_unexpected(checks.inspection_error);
  }
  co_return Expected<void>{};
}

} // namespace airlock::proxy
