#pragma once

// Private to proxy/: /files/<sha256>/<filename> and its .metadata.

#include "http/exchange.hpp"
#include "http/single_flight.hpp"

#include <airlock/policy/policy.hpp>
#include <airlock/storage/store.hpp>

#include <cstring>
#include <memory>
#include <mutex>
#include <functional>
#include <unordered_map>
#include <vector>

namespace airlock::proxy {

class ProjectIndex;
class UpstreamClient;
class Writer;

// Serves approved files from the blob store; on a miss, one request per file fetches it from
// upstream, relaying it to its client while hashing, and keeps it only when the sha256 matches.
// A client never receives the last byte of a file whose hash is wrong. Only stored files answer
// a Range (206/416); a file on its way from upstream is sent whole. Thread-safe.
class FileService
{
public:
  FileService(const Clock& clock, storage::Store& store, UpstreamClient& upstream, ProjectIndex& index,
              Writer& writer, Metrics& metrics);

  // Serves one file request; `filename` is percent-decoded.
  Awaitable<void> serve(Exchange& exchange, std::string_view sha256_hex, std::string_view filename);
  // Whether a snapshot froze the file with this sha256: such a file is served while it is not
  // approved now (a longer window configured since), unless it is blocked. Set once, before
  // serving; asked only for files that are not approved.
  void set_frozen_lookup(std::function<bool(const Sha256&)> frozen) { m_frozen = std::move(frozen); }
  // Called with a file's verified download (its temp file's descriptor) before the last bytes
  // go to the client; an error fails the download (set once, before serving).
  using Reinspect = std::function<Awaitable<Expected<void>>(const storage::FileRecord&, int fd)>;
  void set_reinspect(Reinspect reinspect) { m_reinspect = std::move(reinspect); }

private:
  // A blob to send, from the open-file cache or opened now; null when the store lacks it.
  std::shared_ptr<const storage::OpenBlob> open_blob(const Sha256& sha256);
  Awaitable<void> serve_blob(Exchange& exchange, const Sha256& sha256, std::string_view content_type);
  // Sends a stored blob: 200 with all of it, or 206 or 416 for a Range (under If-Range).
  Awaitable<void> serve_open_blob(Exchange& exchange, const Sha256& sha256, const storage::OpenBlob& blob,
                                  std::string_view content_type);
  // `lead` is held until the fetched blob is indexed (or the fetch failed).
  Awaitable<void> fetch_and_relay(Exchange& exchange, const storage::FileRecord& file, SingleFlight::Lead lead);
  Awaitable<Expected<storage::BlobWriter>> create_blob();
  Awaitable<void> serve_metadata(Exchange& exchange, const storage::FileRecord& file);
  Awaitable<Expected<std::string>> fetch_metadata(const storage::FileRecord& file, const Sha256& expected,
                                                  SingleFlight::Lead lead);
  // Commits a verified blob on the writer thread without holding up the response, then ends
  // the flight.
  void spawn_commit(storage::BlobWriter blob, const Sha256& sha256, std::string filename, Time now,
                    SingleFlight::Lead lead, const net::any_io_executor& executor);
  Awaitable<void> commit_in_background(storage::BlobWriter blob, Sha256 sha256, std::string filename, Time now,
                                       SingleFlight::Lead lead);

  const Clock& m_clock;
  storage::Store& m_store;
  UpstreamClient& m_upstream;
  ProjectIndex& m_index;
  Writer& m_writer;
  Metrics& m_metrics;
  SingleFlight m_flights;
  std::function<bool(const Sha256&)> m_frozen;
  Reinspect m_reinspect;

  struct Sha256Hash
  {
    std::size_t operator()(const Sha256& sha256) const
    {
      std::size_t h = 0;
      std::memcpy(&h, sha256.bytes.data(), sizeof h);
      return h;
    }
  };
  // Recently served blobs, kept open (as nginx's open_file_cache): a download costs no path
  // walk, open or close. A blob never changes; one deleted from outside (fsck --repair) is
  // noticed by its link count and opened again.
  std::mutex m_open_mutex;
  std::unordered_map<Sha256, std::shared_ptr<const storage::OpenBlob>, Sha256Hash> m_open_blobs;

  // The buffers a cold fetch relays through, kept for the next one: fresh memory costs page
  // faults on every fetch (1.5 ms for a 1 KB file, under strace), reused memory does not.
  class RelayBuffer;
  std::mutex m_relay_mutex;
  std::vector<std::unique_ptr<char[]>> m_relay_buffers;
};

} // namespace airlock::proxy
