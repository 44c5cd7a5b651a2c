// /files/: an approved file from the cache (sendfile, a single byte range if asked), or relayed
// from upstream while hashed, its last bytes held until the sha256 matches; PEP 658 metadata
// the same way.
#include "files/files.hpp"

#include "pages/project_index.hpp"
#include "upstream/upstream_client.hpp"
#include "http/ranges.hpp"
#include "http/writer.hpp"

#include <airlock/policy/policy.hpp>
#include <airlock/util/log.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <fmt/core.h>

#include <sys/sendfile.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <charconv>

namespace airlock::proxy {

namespace {

constexpr std::string_view k_octet_stream = "application/octet-stream";
constexpr std::string_view k_metadata_suffix = ".metadata";
// Upstream files whose size upstream did not declare may not exceed this.
constexpr std::uint64_t k_max_undeclared_size = 20ULL << 30;
constexpr std::uint64_t k_max_metadata_size = 16ULL << 20;
constexpr std::size_t k_relay_chunk = 256 * 1024;
// Blobs kept open for the next download of the same file: few, so file descriptors stay
// available for connections under a 1024-descriptor limit.
constexpr std::size_t k_open_blobs = 128;

// Waits until the socket is writable, or the write timeout passes (then false).
Awaitable<bool>
wait_writable(tcp::socket& socket)
{
  using namespace net::experimental::awaitable_operators;
  net::steady_timer timer(socket.get_executor(), k_write_timeout);
  auto result = co_await (socket.async_wait(tcp::socket::wait_write, use_tuple) || timer.async_wait(use_tuple));
  if (result.index() != 0) {
    co_return false;
  }
  co_return !std::get<0>(std::get<0>(result));
}

// A file's strong ETag: its bytes are named by their sha256, so they never change.
std::string
file_etag(const Sha256& sha256)
{
  return "\"" + sha256.hex() + "\"";
}

// The header fields of a file's 200 and 206.
std::string
file_fields(const Sha256& sha256, std::string_view content_type)
{
  std::string fields;
  fields.reserve(200);
  fields += "Content-Type: ";
  fields += content_type;
  fields += "\r\nETag: ";
  fields += file_etag(sha256);
  fields += "\r\nCache-Control: max-age=365000000, immutable, public\r\n";
  return fields;
}

// The header of a file's 200.
std::string
file_head(Exchange& exchange, const Sha256& sha256, std::string_view content_type,
          std::optional<std::uint64_t> length)
{
  return prepare_head(exchange, http::status::ok, file_fields(sha256, content_type), length);
}

// The part of a stored file a request asks for (RFC 9110 14.2): one Range field, under an
// If-Range, if any, that names this file's ETag. Two Range fields are a list of ranges: whole.
RangeDecision
requested_range(const Request& request, const Sha256& sha256, std::uint64_t size)
{
  if (request.count(http::field::range) != 1) {
    return {};
  }
  if (const auto if_range = request.find(http::field::if_range);
      if_range != request.end() && !if_range_matches(if_range->value(), file_etag(sha256))) {
    return {};
  }
  return decide_range(request[http::field::range], size);
}

// Aborts a response mid-body: the client sees a truncated transfer, never a complete one.
void
abort_connection(Exchange& exchange)
{
  beast::error_code ignored;
  exchange.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  exchange.stream.socket().close(ignored);
  exchange.keep_alive = false;
}

} // namespace

// Two relay chunks from the pool, given back when the fetch ends (at most a few are kept).
class FileService::RelayBuffer
{
public:
  explicit RelayBuffer(FileService& files) : m_files(files)
  {
    std::lock_guard lock(m_files.m_relay_mutex);
    if (!m_files.m_relay_buffers.empty()) {
      m_memory = std::move(m_files.m_relay_buffers.back());
      m_files.m_relay_buffers.pop_back();
    }
    if (!m_memory) {
      m_memory = std::make_unique_for_overwrite<char[]>(2 * k_relay_chunk);
    }
  }
  ~RelayBuffer()
  {
    std::lock_guard lock(m_files.m_relay_mutex);
    if (m_files.m_relay_buffers.size() < k_kept) {
      m_files.m_relay_buffers.push_back(std::move(m_memory));
    }
  }
  RelayBuffer(const RelayBuffer&) = delete;
  RelayBuffer& operator=(const RelayBuffer&) = delete;

  std::span<char> chunk(int i) { return {m_memory.get() + static_cast<std::size_t>(i) * k_relay_chunk, k_relay_chunk}; }

private:
  static constexpr std::size_t k_kept = 4;
  FileService& m_files;
  std::unique_ptr<char[]> m_memory;
};

FileService::FileService(const Clock& clock, storage::Store& store, UpstreamClient& upstream, ProjectIndex& index,
                         Writer& writer, Metrics& metrics)
  : m_clock(clock),
    m_store(store),
    m_upstream(upstream),
    m_index(index),
    m_writer(writer),
    m_metrics(metrics)
{
}

Awaitable<void>
FileService::serve(Exchange& exchange, std::string_view sha256_hex, std::string_view filename)
{
  const auto sha256 = Sha256::from_hex(sha256_hex);
  if (!sha256) {
    co_await send_text(exchange, http::status::not_found, "not found: malformed sha256 in file URL");
    co_return;
  }
  const bool metadata = filename.ends_with(k_metadata_suffix);
  exchange.route = metadata ? Route::metadata : Route::files;
  const auto file = m_store.file_by_sha256(
    *sha256, metadata ? filename.substr(0, filename.size() - k_metadata_suffix.size()) : filename);
  if (!file) {
    co_await send_text(exchange, http::status::not_found,
                       "not found: Airlock has not seen this file in any project listing");
    co_return;
  }
  // Decided per request from the store, so a reviewer's block takes effect at once, cached
  // files included.
  // A takedown upstream must reach direct file URLs too, not only clients that read the page
  // first: bring a stale listing up to date (a memory lookup while it is fresh).
  // The verdict comes with the project's rendered view: deciding again here would read and
  // decode the whole project (every file, check and release) on every download.
  const auto view = co_await m_index.project(file->project);
  const policy::Verdict* cached = nullptr;
  if (view) {
    const auto found = (*view)->verdicts.find(verdict_key(file->filename, file->sha256));
    cached = found == (*view)->verdicts.end() ? nullptr : &found->second;
  }
  if (cached == nullptr) {
    co_await send_text(exchange, http::status::not_found, "not found: the project no longer lists this file");
    co_return;
  }
  const policy::Verdict verdict = *cached;
  // Snapshots never change, except for security: what one froze stays served unless blocked.
  // A vulnerability over block_severity blocks the live index only: CI pinned it knowingly.
  const bool frozen = verdict.state != policy::State::approved
                      && (verdict.state != policy::State::blocked || verdict.live_only) && m_frozen && m_frozen(*sha256);
  if (verdict.state != policy::State::approved && !frozen) {
    const std::string why = fmt::format("{}: {}", policy::to_string(verdict.state), verdict.reason);
    exchange.outcome = policy::to_string(verdict.state);
    const std::string next_step = verdict.state == policy::State::blocked
                                    ? "a reviewer decides whether it stays blocked"
                                    : fmt::format("a reviewer can release it early with: airlock approve {} {}",
                                                  file->project, file->version.empty() ? "VERSION" : file->version);
    // An advisory's block leads with its id ("advisory MAL-2026-2144: ..."): scripts match it.
    const std::string body =
      verdict.state == policy::State::blocked && verdict.reason.starts_with("advisory ")
        ? fmt::format("{}. {} is not served. Ask your Airlock reviewers ({}; `airlock status {}` shows why).",
                      verdict.reason, file->filename, next_step, file->project)
        : fmt::format("{} is not served: {}. Ask your Airlock reviewers ({}; `airlock status {}` shows why).",
                      file->filename, why, next_step, file->project);
    co_await send_text(exchange, http::status::forbidden, body, "Forbidden (" + why + ")");
    co_return;
  }
  if (metadata) {
    co_await serve_metadata(exchange, *file);
    co_return;
  }
  // One request per file goes upstream; the others wait for it. A waiter that finds no blob
  // afterwards (the leader failed, or finished just as it joined) tries to lead itself.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (const auto blob = open_blob(*sha256)) {
      exchange.outcome = "hit";
      m_metrics.count_cache_hit();
      co_await serve_open_blob(exchange, *sha256, *blob, k_octet_stream);
      co_return;
    }
    auto lead = co_await m_flights.join("file:" + sha256->hex());
    if (lead && !m_store.blobs().contains(*sha256)) {
      exchange.outcome = "miss";
      m_metrics.count_cache_miss();
      co_await fetch_and_relay(exchange, *file, std::move(lead));
      co_return;
    }
  }
  co_await send_text(exchange, http::status::bad_gateway, "upstream fetch of " + file->filename + " failed");
}

std::shared_ptr<const storage::OpenBlob>
FileService::open_blob(const Sha256& sha256)
{
  std::shared_ptr<const storage::OpenBlob> blob;
  {
    std::lock_guard lock(m_open_mutex);
    if (const auto it = m_open_blobs.find(sha256); it != m_open_blobs.end()) {
      blob = it->second;
    }
  }
  if (blob) {
    struct stat st{};
    if (::fstat(blob->fd.get(), &st) == 0 && st.st_nlink > 0
        && static_cast<std::uint64_t>(st.st_size) == blob->size) {
      return blob;
    }
    std::lock_guard lock(m_open_mutex);
    if (const auto it = m_open_blobs.find(sha256); it != m_open_blobs.end() && it->second == blob) {
      m_open_blobs.erase(it);
    }
  }
  auto opened = m_store.blobs().open(sha256);
  if (!opened) {
    return nullptr;
  }
  blob = std::make_shared<const storage::OpenBlob>(std::move(*opened));
  std::lock_guard lock(m_open_mutex);
  if (m_open_blobs.size() >= k_open_blobs && !m_open_blobs.contains(sha256)) {
    m_open_blobs.erase(m_open_blobs.begin());
  }
  m_open_blobs.insert_or_assign(sha256, blob);
  return blob;
}

Awaitable<void>
FileService::serve_blob(Exchange& exchange, const Sha256& sha256, std::string_view content_type)
{
  const auto blob = open_blob(sha256);
  if (!blob) {
    co_await send_text(exchange, http::status::not_found, "not found: blob vanished");
    co_return;
  }
  co_await serve_open_blob(exchange, sha256, *blob, content_type);
}

Awaitable<void>
FileService::serve_open_blob(Exchange& exchange, const Sha256& sha256, const storage::OpenBlob& blob,
                             std::string_view content_type)
{
  // Ranges are served only here, from verified bytes in the store; a relay from upstream
  // answers 200 with the whole file, as RFC 9110 14.2 allows.
  const RangeDecision range = requested_range(exchange.request, sha256, blob.size);
  if (range.answer == RangeAnswer::unsatisfiable) {
    co_await send_prepared(exchange, http::status::range_not_satisfiable,
                           fmt::format("Content-Range: bytes */{}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                       "Cache-Control: no-store\r\n",
                                       blob.size),
                           "range not satisfiable\n");
    co_return;
  }
  std::string fields = file_fields(sha256, content_type);
  fields += "Accept-Ranges: bytes\r\n";
  std::uint64_t first = 0;
  std::uint64_t length = blob.size;
  auto status = http::status::ok;
  if (range.answer == RangeAnswer::part) {
    fields += fmt::format("Content-Range: bytes {}-{}/{}\r\n", range.first, range.last, blob.size);
    first = range.first;
    length = range.last - range.first + 1;
    status = http::status::partial_content;
  }
  const std::string header = prepare_head(exchange, status, fields, length);
  // MSG_MORE: the header waits for the first bytes of the file and leaves with them.
  const bool body_follows = !exchange.head && length > 0;
  const std::string_view nothing_else;
  if (!co_await write_now(exchange, header, nothing_else, body_follows) || exchange.head) {
    co_return;
  }
  // sendfile: the bytes go from the page cache to the socket without passing through us.
  auto& socket = exchange.stream.socket();
  if (!socket.native_non_blocking()) {
    socket.native_non_blocking(true); // sessions' sockets already are: no ioctl per download
  }
  auto offset = static_cast<off_t>(first);
  const std::uint64_t end = first + length;
  while (static_cast<std::uint64_t>(offset) < end) {
    const auto remaining = end - static_cast<std::uint64_t>(offset);
    const ssize_t sent = ::sendfile(socket.native_handle(), blob.fd.get(), &offset,
                                    static_cast<size_t>(std::min<std::uint64_t>(remaining, 1ULL << 30)));
    if (sent > 0) {
      exchange.bytes += static_cast<std::uint64_t>(sent);
      continue;
    }
    if (sent < 0 && errno == EINTR) {
      continue;
    }
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && co_await wait_writable(socket)) {
      continue;
    }
    abort_connection(exchange); // client gone, timed out, or the file shrank
    co_return;
  }
}

Awaitable<void>
FileService::commit_in_background(storage::BlobWriter blob, Sha256 sha256, std::string filename, Time now,
                                  [[maybe_unused]] SingleFlight::Lead lead)
{
  try {
    auto committed = co_await m_writer.run([&] { return m_store.commit_blob(std::move(blob), sha256, now); });
    if (!committed) {
      AIRLOCK_LOG(error, "cannot cache {}: {}", filename, committed.error());
    }
  } catch (const std::exception& e) {
    AIRLOCK_LOG(error, "cannot index {}: {}", filename, e.what());
  }
  // `lead` ends here: requests for the same file waited for the index entry, not only the bytes.
}

void
FileService::spawn_commit(storage::BlobWriter blob, const Sha256& sha256, std::string filename, Time now,
                          SingleFlight::Lead lead, const net::any_io_executor& executor)
{
  net::co_spawn(executor, commit_in_background(std::move(blob), sha256, std::move(filename), now, std::move(lead)),
                net::detached);
}

namespace {

// The client's side of a relay. The header leaves with the first bytes of the body, so that a
// fetch that fails before any byte was sent can still answer a clear 502; a small file leaves
// in one write. A client that goes away stops receiving; the download goes on for the cache.
class ClientRelay
{
public:
  ClientRelay(Exchange& exchange, std::string header, bool chunked)
    : m_exchange(exchange),
      m_header(std::move(header)),
      m_chunked(chunked)
  {
  }

  bool started() const { return m_started; }

  // Sends `data`; `last` completes the response.
  Awaitable<void> send(std::string_view data, bool last)
  {
    if (!m_client_ok || (m_started && m_exchange.head)) {
      co_return;
    }
    std::array<net::const_buffer, 5> buffers;
    std::size_t count = 0;
    if (!m_started) {
      buffers[count++] = net::buffer(m_header);
    }
    std::array<char, 24> size_line{};
    const bool body = !m_exchange.head && !data.empty();
    if (body && m_chunked) {
      char* end = std::to_chars(size_line.data(), size_line.data() + 16, data.size(), 16).ptr;
      *end++ = '\r';
      *end++ = '\n';
      buffers[count++] = net::buffer(size_line.data(), static_cast<std::size_t>(end - size_line.data()));
    }
    if (body) {
      buffers[count++] = net::buffer(data.data(), data.size());
    }
    if (body && m_chunked) {
      buffers[count++] = net::buffer("\r\n", 2);
    }
    if (last && m_chunked && !m_exchange.head) {
      buffers[count++] = net::buffer("0\r\n\r\n", 5);
    }
    m_started = true;
    // Not MSG_MORE: a slow upstream's bytes should not wait in the kernel for the next chunk.
    if (!co_await write_now(m_exchange, std::span<const net::const_buffer>(buffers.data(), count), false)) {
      m_client_ok = false; // the client left; the download goes on for the cache
      co_return;
    }
    if (body) {
      m_exchange.bytes += data.size();
    }
  }

private:
  Exchange& m_exchange;
  std::string m_header;
  bool m_chunked;
  bool m_started = false;
  bool m_client_ok = true;
};

} // namespace

Awaitable<Expected<storage::BlobWriter>>
FileService::create_blob()
{
  co_return m_store.blobs().create();
}

Awaitable<void>
FileService::fetch_and_relay(Exchange& exchange, const storage::FileRecord& file, SingleFlight::Lead lead)
{
  using namespace net::experimental::awaitable_operators;
  const std::uint64_t limit = file.size > 0 ? file.size : k_max_undeclared_size;
  // The temp file is created while the request is on its way upstream, not after the answer.
  auto [body, writer] = co_await (m_upstream.get_stream(file.url, limit) && create_blob());
  if (!body) {
    m_metrics.count_upstream_error(false);
    AIRLOCK_LOG(warn, "fetching {} failed: {}", file.filename, body.error());
    co_await send_text(exchange, http::status::bad_gateway, "upstream fetch failed: " + body.error());
    co_return;
  }
  auto& upstream = **body;
  if (upstream.status() != 200) {
    m_metrics.count_upstream_error(false);
    AIRLOCK_LOG(warn, "fetching {}: upstream answered {}", file.filename, upstream.status());
    co_await send_text(exchange, http::status::bad_gateway,
                       fmt::format("upstream answered {} for {}", upstream.status(), file.filename));
    co_return;
  }
  const auto upstream_length = upstream.content_length();
  if (file.size > 0 && upstream_length && *upstream_length != file.size) {
    AIRLOCK_LOG(warn, "fetching {}: upstream sends {} bytes, listing declared {}", file.filename, *upstream_length,
                file.size);
    co_await send_text(exchange, http::status::bad_gateway,
                       fmt::format("upstream size {} differs from the declared {}", *upstream_length, file.size));
    co_return;
  }
  if (!writer) {
    AIRLOCK_LOG(error, "cannot cache {}: {}", file.filename, writer.error());
    co_await send_text(exchange, http::status::service_unavailable, "cannot store file: " + writer.error());
    co_return;
  }

  const std::optional<std::uint64_t> length = file.size > 0 ? std::optional(file.size) : upstream_length;
  if (!length && exchange.request.version() < 11) {
    exchange.keep_alive = false; // HTTP/1.0 has no chunks: the body ends with the connection
  }
  ClientRelay client(exchange, file_head(exchange, file.sha256, k_octet_stream, length),
                     !length && exchange.request.version() >= 11);

  // Bytes go to the client as they arrive, and are hashed and stored while the client reads
  // them. Only the end waits: the last chunk of a body whose length is known, or the latest
  // chunk of one whose end shows only at EOF, is held back until the whole file is hashed, so
  // a client only ever completes a response whose bytes match the declared sha256.
  RelayBuffer buffers(*this);
  std::size_t held = 0;
  int current = 0;
  std::uint64_t total = 0;
  std::string failure;
  for (;;) {
    auto read = co_await upstream.read_some(buffers.chunk(current));
    if (!read) {
      failure = read.error();
      break;
    }
    if (*read == 0) {
      break;
    }
    total += *read;
    const std::string_view chunk(buffers.chunk(current).data(), *read);
    if (held > 0) {
      co_await client.send(std::string_view(buffers.chunk(1 - current).data(), held), false);
      held = 0;
    }
    const bool may_be_last = !length || total >= *length;
    if (!may_be_last) {
      co_await client.send(chunk, false);
    }
    if (auto written = writer->write(chunk); !written) {
      failure = "cannot store file: " + written.error();
      break;
    }
    if (may_be_last) {
      held = chunk.size();
      current = 1 - current;
    }
  }
  if (failure.empty() && length && total != *length) {
    failure = fmt::format("upstream sent {} bytes, expected {}", total, *length);
  }
  if (failure.empty()) {
    const Sha256 digest = writer->digest();
    if (digest != file.sha256) {
      failure = fmt::format("sha256 mismatch: upstream declared {}, bytes hash to {}", file.sha256.hex(), digest.hex());
    }
  }
  if (failure.empty() && m_reinspect) {
    // What the checks read by Range must be what these verified bytes hold.
    if (auto same = co_await m_reinspect(file, writer->fd()); !same) {
      failure = same.error();
      m_index.invalidate(file.project);
    }
  }
  if (!failure.empty()) {
    m_metrics.count_rejected_download();
    AIRLOCK_LOG(error, "refusing {} from upstream: {}", file.filename, failure);
    exchange.outcome = "rejected";
    if (client.started()) {
      abort_connection(exchange);
    } else {
      // Nothing sent yet (a small file, or upstream failed at once): a clear answer instead.
      co_await send_text(exchange, http::status::bad_gateway,
                         fmt::format("refusing {} from upstream: {}", file.filename, failure));
    }
    co_return; // the writer's destructor removes the temp file
  }
  co_await client.send(std::string_view(buffers.chunk(1 - current).data(), held), true);
  // The fsyncs and the index entry happen off this connection: its next request need not wait
  // for them. Requests for this file keep waiting on the flight until the blob is indexed.
  const auto executor = co_await net::this_coro::executor;
  spawn_commit(std::move(*writer), file.sha256, file.filename, m_clock.now(), std::move(lead), executor);
}

Awaitable<void>
FileService::serve_metadata(Exchange& exchange, const storage::FileRecord& file)
{
  if (!file.core_metadata) {
    co_await send_text(exchange, http::status::not_found, "not found: upstream declared no metadata for this file");
    co_return;
  }
  const Sha256 sha256 = *file.core_metadata;
  if (!m_store.blobs().contains(sha256)) {
    auto lead = co_await m_flights.join("metadata:" + sha256.hex());
    if (lead && !m_store.blobs().contains(sha256)) {
      auto fetched = co_await fetch_metadata(file, sha256, std::move(lead));
      if (!fetched) {
        AIRLOCK_LOG(warn, "metadata of {}: {}", file.filename, fetched.error());
        co_await send_text(exchange, http::status::bad_gateway, "upstream metadata fetch failed: " + fetched.error());
        co_return;
      }
      exchange.outcome = "miss";
      http::response<http::span_body<const char>> response{http::status::ok, 11};
      response.set(http::field::content_type, k_octet_stream);
      response.set(http::field::etag, "\"" + sha256.hex() + "\"");
      response.body() = {fetched->data(), fetched->size()};
      co_await send(exchange, response);
      co_return;
    }
    if (!m_store.blobs().contains(sha256)) {
      co_await send_text(exchange, http::status::bad_gateway, "upstream metadata fetch failed");
      co_return;
    }
  }
  exchange.outcome = "hit";
  co_await serve_blob(exchange, sha256, k_octet_stream);
}

Awaitable<Expected<std::string>>
FileService::fetch_metadata(const storage::FileRecord& file, const Sha256& expected, SingleFlight::Lead lead)
{
  auto body = co_await m_upstream.get_stream(file.url + std::string(k_metadata_suffix), k_max_metadata_size);
  if (!body) {
    co_return make_unexpected(body.error());
  }
  if ((*body)->status() != 200) {
    co_return make_unexpected(fmt::format("upstream answered {}", (*body)->status()));
  }
  auto read = co_await (*body)->read_all();
  if (!read) {
    co_return make_unexpected(read.error());
  }
  std::string content = std::move(*read);
  if (Sha256::of(content) != expected) {
    co_return make_unexpected("sha256 mismatch: metadata bytes differ from the declared hash");
  }
  auto writer = m_store.blobs().create();
  if (!writer) {
    co_return make_unexpected(writer.error());
  }
  if (auto written = writer->write(content); !written) {
    co_return make_unexpected(written.error());
  }
  writer->digest();
  const auto executor = co_await net::this_coro::executor;
  spawn_commit(std::move(*writer), expected, file.filename + std::string(k_metadata_suffix), m_clock.now(),
               std::move(lead), executor);
  co_return content;
}

} // namespace airlock::proxy
