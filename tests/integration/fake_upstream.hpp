#pragma once

// A PyPI-like upstream on 127.0.0.1:0 for integration tests, which misbehaves on request.

#include <airlock/util/sha256.hpp>
#include <airlock/util/time.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace airlock::test {

enum class FileBehaviour {
  normal,
  corrupt,      // same length, different bytes than declared
  truncate,     // declares the full length, closes halfway
  error_500,    // answers 500 (for its provenance too)
  slow,         // drips the body slowly (one small piece per 100 ms)
  oversize,     // sends more bytes than declared
  stall,        // declares the full length, sends half, then goes silent (until stopped)
  redirect,     // a 302 to the same file under /mirror/, where it is served normally
  chunked,      // Transfer-Encoding: chunked, no Content-Length
  chunked_corrupt, // chunked, with a byte changed as `corrupt`
};

enum class PageBehaviour {
  json,         // PEP 691 JSON
  html,         // PEP 503 HTML only
  malformed,    // garbage that claims to be JSON
  error_500,
  slow,         // takes seconds to answer
  hang,         // reads the request and never answers (until stopped, or 30 s)
  oversize,     // a body larger than any sane page
  not_found,
  redirect,      // a 301 to the same page under /mirror/, where it is served as JSON
  redirect_loop, // a 302 to itself, for ever
};

// What a JSON page says of a file's provenance (PEP 740 "provenance" key).
enum class ProvenanceKey {
  omitted, // no key: a client looks at the Integrity API path
  moved,   // a relative URL, /attestations/<filename>, where the document is served instead
  null,    // null: no provenance (while the Integrity API path would serve one)
};

struct FakeFile
{
  std::string filename;
  std::string content;
  std::optional<Time> upload_time;
  std::string requires_python;
  std::optional<std::string> yanked;
  std::optional<std::string> metadata; // PEP 658 metadata served at <url>.metadata
  std::optional<std::string> provenance; // PEP 740, at /integrity/<project>/<version>/<filename>/provenance
  ProvenanceKey provenance_key = ProvenanceKey::omitted;
  FileBehaviour behaviour = FileBehaviour::normal;
  // The URL the listing gives for the file instead of the fake's own (another host).
  std::optional<std::string> listed_url;
  // Range requests are answered from these bytes (same length), not from `content`.
  std::optional<std::string> range_content;

  Sha256 sha256() const { return Sha256::of(content); }
};

class FakeUpstream
{
public:
  FakeUpstream();
  ~FakeUpstream();

  std::uint16_t port() const { return m_port; }
  std::string index_url() const; // http(s)://127.0.0.1:<port>/simple/

  // Speaks HTTPS from now on, with a self-signed certificate for 127.0.0.1 made now; call it
  // before the first request. Returns the certificate (PEM), for a client to trust.
  std::string use_tls();

  void add_file(const std::string& project, FakeFile file);
  void remove_file(const std::string& project, const std::string& filename);
  void set_file_behaviour(const std::string& filename, FileBehaviour behaviour);
  void set_page_behaviour(const std::string& project, PageBehaviour behaviour);
  // While offline, every connection (new or kept alive) is closed without an answer, as a
  // crashed or unreachable upstream would.
  void set_offline(bool offline);

  int page_requests(const std::string& project) const;
  int file_requests(const std::string& filename) const;
  int total_file_requests() const;
  // Range requests (wheel inspection), counted apart from whole-file downloads.
  int range_requests(const std::string& filename) const;
  int total_range_requests() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  std::uint16_t m_port = 0;
};

// A payload of `size` bytes, different for each seed.
std::string make_payload(std::size_t size, int seed);
// What a fake wheel's RECORD says: its entries, or a lie about the extra files.
enum class WheelRecord { matches, omits_extras };

// A valid zip archive of exactly `size` bytes (one stored entry of payload bytes, the given
// extra files and a RECORD that lists them all), as a wheel is; `size` must leave room for
// the zip records.
std::string make_wheel(std::size_t size, int seed,
                       const std::vector<std::pair<std::string, std::string>>& extra_files = {},
                       WheelRecord record = WheelRecord::matches);

} // namespace airlock::test
