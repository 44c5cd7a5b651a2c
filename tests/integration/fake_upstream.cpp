#include "fake_upstream.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/core.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <list>
#include <stdexcept>
#include <zlib.h>
#include <thread>

namespace airlock::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
namespace ssl = boost::asio::ssl;

namespace {

std::string
json_escape(std::string_view text)
{
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

std::string
normalize(std::string_view name)
{
  std::string out;
  for (char c : name) {
    if (c == '_' || c == '.') {
      c = '-';
    }
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

} // namespace

std::string
make_payload(std::size_t size, int seed)
{
  std::string out(size, '\0');
  std::uint32_t state = 2166136261u ^ static_cast<std::uint32_t>(seed);
  for (auto& c : out) {
    state = state * 16777619u + 12345u;
    c = static_cast<char>(state >> 24);
  }
  return out;
}

namespace {

void
put16(std::string& out, std::uint16_t v)
{
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>(v >> 8);
}

void
put32(std::string& out, std::uint32_t v)
{
  put16(out, static_cast<std::uint16_t>(v & 0xffff));
  put16(out, static_cast<std::uint16_t>(v >> 16));
}

// A RECORD row's hash: "sha256=" and the digest in urlsafe base64 without padding (43 chars).
std::string
record_hash(std::string_view data)
{
  static constexpr std::string_view k_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const auto digest = Sha256::of(data).bytes;
  std::string out = "sha256=";
  std::uint32_t bits = 0;
  int count = 0;
  for (const auto byte : digest) {
    bits = (bits << 8) | byte;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out += k_alphabet[(bits >> count) & 0x3f];
    }
  }
  if (count > 0) {
    out += k_alphabet[(bits << (6 - count)) & 0x3f];
  }
  return out;
}

// The wheel's RECORD, listing every entry with its hash, and itself.
std::string
record_of(const std::vector<std::pair<std::string, std::string>>& entries, const std::string& record_name)
{
  std::string out;
  for (const auto& [name, data] : entries) {
    out += name + "," + record_hash(data) + ",\n";
  }
  return out + record_name + ",,\n";
}

} // namespace

std::string
make_wheel(std::size_t size, int seed, const std::vector<std::pair<std::string, std::string>>& extra_files,
           WheelRecord record)
{
  // Stored entries: local header (30 + name) + data; central entry (46 + name); end (22).
  std::vector<std::pair<std::string, std::string>> entries = extra_files;
  const std::string main_name = "pkg/data.bin";
  const std::string record_name = "pkg-1.0.dist-info/RECORD";
  std::size_t overhead = 22 + 76 + main_name.size();
  for (const auto& [name, data] : extra_files) {
    overhead += 76 + 2 * name.size() + data.size();
  }
  overhead += main_name.size();
  // The RECORD's length does not depend on the contents it hashes: size it with a stand-in.
  entries.insert(entries.begin(), {main_name, std::string()});
  const std::size_t record_size = record_of(entries, record_name).size();
  overhead += 76 + 2 * record_name.size() + record_size;
  if (size < overhead) {
    throw std::runtime_error("make_wheel: size too small for the zip records");
  }
  entries.front().second = make_payload(size - overhead, seed);
  std::string listed = record_of(entries, record_name);
  if (record == WheelRecord::omits_extras) {
    // The same length, naming a file the archive does not have instead of the extras.
    for (const auto& [name, data] : extra_files) {
      const auto at = listed.find(name + ",");
      listed.replace(at, name.size(), std::string(name.size(), 'z'));
    }
  }
  entries.emplace_back(record_name, std::move(listed));
  std::string out;
  std::string central;
  for (const auto& [name, data] : entries) {
    const auto crc = static_cast<std::uint32_t>(
      ::crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
    const auto offset = static_cast<std::uint32_t>(out.size());
    put32(out, 0x04034b50);
    put16(out, 20);
    put16(out, 0);
    put16(out, 0); // stored
    put16(out, 0);
    put16(out, 0x21);
    put32(out, crc);
    put32(out, static_cast<std::uint32_t>(data.size()));
    put32(out, static_cast<std::uint32_t>(data.size()));
    put16(out, static_cast<std::uint16_t>(name.size()));
    put16(out, 0);
    out += name;
    out += data;
    put32(central, 0x02014b50);
    put16(central, 20);
    put16(central, 20);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0x21);
    put32(central, crc);
    put32(central, static_cast<std::uint32_t>(data.size()));
    put32(central, static_cast<std::uint32_t>(data.size()));
    put16(central, static_cast<std::uint16_t>(name.size()));
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put32(central, 0);
    put32(central, offset);
    central += name;
  }
  const auto central_offset = static_cast<std::uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<std::uint16_t>(entries.size()));
  put16(out, static_cast<std::uint16_t>(entries.size()));
  put32(out, static_cast<std::uint32_t>(central.size()));
  put32(out, central_offset);
  put16(out, 0);
  if (out.size() != size) {
    throw std::runtime_error("make_wheel: size arithmetic is off");
  }
  return out;
}

struct FakeUpstream::Impl
{
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::thread accept_thread;
  std::atomic<bool> stopping{false};
  std::atomic<bool> offline{false};

  mutable std::mutex mutex;
  std::map<std::string, std::vector<FakeFile>> projects;
  std::map<std::string, PageBehaviour> page_behaviours;
  std::map<std::string, int> page_counts;
  std::map<std::string, int> file_counts;
  std::map<std::string, int> range_counts;
  std::list<std::pair<std::shared_ptr<tcp::socket>, std::thread>> connections;
  std::uint16_t port = 0;
  std::shared_ptr<ssl::context> tls; // set once, under `mutex`, before the first connection

  void accept_loop();
  template <class Stream>
  void serve(Stream& stream);
  template <class Stream>
  void answer(Stream& socket, const http::request<http::string_body>& request, bool& keep_alive);
  std::string page_json(const std::string& project, const std::vector<FakeFile>& files) const;
  std::string page_html(const std::string& project, const std::vector<FakeFile>& files) const;
  std::string scheme() const
  {
    std::lock_guard lock(mutex);
    return tls ? "https" : "http";
  }
  std::string file_url(const FakeFile& file) const
  {
    if (file.listed_url) {
      return *file.listed_url;
    }
    return fmt::format("{}://127.0.0.1:{}/packages/{}/{}", scheme(), port, file.sha256().hex(), file.filename);
  }
};

FakeUpstream::FakeUpstream() : m_impl(std::make_unique<Impl>())
{
  auto& impl = *m_impl;
  tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
  impl.acceptor.open(endpoint.protocol());
  impl.acceptor.set_option(net::socket_base::reuse_address(true));
  impl.acceptor.bind(endpoint);
  impl.acceptor.listen();
  m_port = impl.acceptor.local_endpoint().port();
  impl.port = m_port;
  impl.accept_thread = std::thread([&impl] { impl.accept_loop(); });
}

FakeUpstream::~FakeUpstream()
{
  auto& impl = *m_impl;
  impl.stopping = true;
  beast::error_code ignored;
  // Connect once to wake the blocking accept(), which then sees `stopping`; the acceptor is
  // closed only once its thread is gone (closing it under a blocked accept() is a data race).
  {
    tcp::socket wake(impl.ioc);
    wake.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), m_port), ignored);
  }
  impl.accept_thread.join();
  impl.acceptor.close(ignored);
  std::list<std::pair<std::shared_ptr<tcp::socket>, std::thread>> connections;
  {
    std::lock_guard lock(impl.mutex);
    connections.swap(impl.connections);
  }
  for (auto& [socket, thread] : connections) {
    socket->shutdown(tcp::socket::shutdown_both, ignored);
    thread.join();
  }
}

std::string
FakeUpstream::index_url() const
{
  return fmt::format("{}://127.0.0.1:{}/simple/", m_impl->scheme(), m_port);
}

std::string
FakeUpstream::use_tls()
{
  const auto fail = [](const char* what) { throw std::runtime_error(std::string("FakeUpstream::use_tls: ") + what); };
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"),
                                                          &EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  if (!key || !cert) {
    fail("cannot make a key");
  }
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                                   std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (extension == nullptr || X509_add_ext(cert.get(), extension, -1) != 1) {
      fail("cannot add an extension");
    }
    X509_EXTENSION_free(extension);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
    fail("cannot sign");
  }
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  if (SSL_CTX_use_certificate(context->native_handle(), cert.get()) != 1
      || SSL_CTX_use_PrivateKey(context->native_handle(), key.get()) != 1) {
    fail("cannot load the certificate");
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> pem(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_X509(pem.get(), cert.get());
  char* data = nullptr;
  const long size = BIO_get_mem_data(pem.get(), &data);
  std::lock_guard lock(m_impl->mutex);
  m_impl->tls = std::move(context);
  return std::string(data, static_cast<std::size_t>(size));
}

void
FakeUpstream::add_file(const std::string& project, FakeFile file)
{
  std::lock_guard lock(m_impl->mutex);
  m_impl->projects[normalize(project)].push_back(std::move(file));
}

void
FakeUpstream::remove_file(const std::string& project, const std::string& filename)
{
  std::lock_guard lock(m_impl->mutex);
  auto& files = m_impl->projects[normalize(project)];
  std::erase_if(files, [&](const FakeFile& f) { return f.filename == filename; });
}

void
FakeUpstream::set_file_behaviour(const std::string& filename, FileBehaviour behaviour)
{
  std::lock_guard lock(m_impl->mutex);
  for (auto& [project, files] : m_impl->projects) {
    for (auto& file : files) {
      if (file.filename == filename) {
        file.behaviour = behaviour;
      }
    }
  }
}

void
FakeUpstream::set_page_behaviour(const std::string& project, PageBehaviour behaviour)
{
  std::lock_guard lock(m_impl->mutex);
  m_impl->page_behaviours[normalize(project)] = behaviour;
}

void
FakeUpstream::set_offline(bool offline)
{
  m_impl->offline = offline;
}

int
FakeUpstream::page_requests(const std::string& project) const
{
  std::lock_guard lock(m_impl->mutex);
  auto it = m_impl->page_counts.find(normalize(project));
  return it == m_impl->page_counts.end() ? 0 : it->second;
}

int
FakeUpstream::file_requests(const std::string& filename) const
{
  std::lock_guard lock(m_impl->mutex);
  auto it = m_impl->file_counts.find(filename);
  return it == m_impl->file_counts.end() ? 0 : it->second;
}

int
FakeUpstream::total_range_requests() const
{
  std::lock_guard lock(m_impl->mutex);
  int total = 0;
  for (const auto& [name, count] : m_impl->range_counts) {
    total += count;
  }
  return total;
}

int
FakeUpstream::range_requests(const std::string& filename) const
{
  std::lock_guard lock(m_impl->mutex);
  auto it = m_impl->range_counts.find(filename);
  return it == m_impl->range_counts.end() ? 0 : it->second;
}

int
FakeUpstream::total_file_requests() const
{
  std::lock_guard lock(m_impl->mutex);
  int total = 0;
  for (const auto& [name, count] : m_impl->file_counts) {
    total += count;
  }
  return total;
}

void
FakeUpstream::Impl::accept_loop()
{
  while (!stopping) {
    auto socket = std::make_shared<tcp::socket>(ioc);
    beast::error_code ec;
    acceptor.accept(*socket, ec);
    if (ec || stopping) {
      return;
    }
    if (offline) {
      socket->close(ec);
      continue;
    }
    std::lock_guard lock(mutex);
    connections.emplace_back(socket, std::thread([this, socket, tls = tls] {
      if (!tls) {
        serve(*socket);
        return;
      }
      ssl::stream<tcp::socket&> stream(*socket, *tls);
      beast::error_code handshake;
      stream.handshake(ssl::stream_base::server, handshake);
      if (!handshake) {
        serve(stream);
      }
    }));
  }
}

template <class Stream>
void
FakeUpstream::Impl::serve(Stream& socket)
{
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> request;
    beast::error_code ec;
    http::read(socket, buffer, request, ec);
    if (ec || offline) {
      // Offline: the kept-alive connection is closed without an answer, as a crashed upstream's
      // would be (returning alone would leave it open and silent: a hang, not a refusal).
      beast::error_code ignored;
      beast::get_lowest_layer(socket).shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
    bool keep_alive = request.keep_alive();
    answer(socket, request, keep_alive);
    if (!keep_alive || stopping) {
      beast::error_code ignored;
      beast::get_lowest_layer(socket).shutdown(tcp::socket::shutdown_both, ignored);
      return;
    }
  }
}

std::string
FakeUpstream::Impl::page_json(const std::string& project, const std::vector<FakeFile>& files) const
{
  std::string out = fmt::format(R"({{"meta":{{"api-version":"1.1"}},"name":"{}","files":[)", project);
  bool first = true;
  for (const auto& file : files) {
    out += first ? "" : ",";
    first = false;
    out += fmt::format(R"({{"filename":"{}","url":"{}","hashes":{{"sha256":"{}"}},"size":{})", file.filename,
                       file_url(file), file.sha256().hex(), file.content.size());
    if (file.upload_time) {
      out += fmt::format(R"(,"upload-time":"{}")", format_rfc3339(*file.upload_time));
    }
    if (!file.requires_python.empty()) {
      out += fmt::format(R"(,"requires-python":"{}")", json_escape(file.requires_python));
    }
    out += file.yanked ? fmt::format(R"(,"yanked":"{}")", json_escape(*file.yanked)) : R"(,"yanked":false)";
    if (file.metadata) {
      out += fmt::format(R"(,"core-metadata":{{"sha256":"{}"}})", Sha256::of(*file.metadata).hex());
    }
    if (file.provenance_key == ProvenanceKey::moved) {
      out += fmt::format(R"(,"provenance":"/attestations/{}")", file.filename);
    } else if (file.provenance_key == ProvenanceKey::null) {
      out += R"(,"provenance":null)";
    }
    out += "}";
  }
  out += "]}";
  return out;
}

std::string
FakeUpstream::Impl::page_html(const std::string& project, const std::vector<FakeFile>& files) const
{
  std::string out = fmt::format("<!DOCTYPE html><html><body><h1>Links for {}</h1>\n", project);
  for (const auto& file : files) {
    out += fmt::format(R"(<a href="{}#sha256={}")", file_url(file), file.sha256().hex());
    if (file.metadata) {
      out += fmt::format(R"( data-core-metadata="sha256={}")", Sha256::of(*file.metadata).hex());
    }
    if (file.provenance_key == ProvenanceKey::moved) {
      out += fmt::format(R"( data-provenance="/attestations/{}")", file.filename);
    }
    out += fmt::format(">{}</a><br/>\n", file.filename);
  }
  out += "</body></html>\n";
  return out;
}

template <class Stream>
void
FakeUpstream::Impl::answer(Stream& socket, const http::request<http::string_body>& request, bool& keep_alive)
{
  std::string target(request.target());
  // /mirror/<path> is <path> without its misbehaviour: where the redirects lead.
  const bool mirrored = target.starts_with("/mirror/");
  if (mirrored) {
    target.erase(0, 7);
  }
  beast::error_code ec;
  const auto reply = [&](http::status status, std::string body, std::string_view content_type) {
    http::response<http::string_body> response{status, 11};
    response.set(http::field::content_type, content_type);
    response.keep_alive(keep_alive);
    response.body() = std::move(body);
    response.prepare_payload();
    http::write(socket, response, ec);
  };
  const auto redirect = [&](http::status status, const std::string& location) {
    http::response<http::string_body> response{status, 11};
    response.set(http::field::location, location);
    response.keep_alive(keep_alive);
    response.prepare_payload();
    http::write(socket, response, ec);
  };

  if (target.starts_with("/simple/")) {
    std::string project = target.substr(8);
    if (!project.empty() && project.back() == '/') {
      project.pop_back();
    }
    std::vector<FakeFile> files;
    PageBehaviour behaviour = PageBehaviour::json;
    bool known = false;
    {
      std::lock_guard lock(mutex);
      ++page_counts[project];
      if (auto it = projects.find(project); it != projects.end()) {
        files = it->second;
        known = true;
      }
      if (auto it = page_behaviours.find(project); it != page_behaviours.end() && !mirrored) {
        behaviour = it->second;
      }
    }
    const bool wants_json = request[http::field::accept].find("json") != std::string_view::npos;
    switch (behaviour) {
    case PageBehaviour::not_found:
      reply(http::status::not_found, "no such project", "text/plain");
      return;
    case PageBehaviour::error_500:
      reply(http::status::internal_server_error, "boom", "text/plain");
      return;
    case PageBehaviour::malformed:
      reply(http::status::ok, R"({"meta":{"api-version":"1.1"},"files":[{"filename":)",
            "application/vnd.pypi.simple.v1+json");
      return;
    case PageBehaviour::oversize:
      reply(http::status::ok, std::string(80u << 20, ' '), "application/vnd.pypi.simple.v1+json");
      return;
    case PageBehaviour::slow:
      std::this_thread::sleep_for(std::chrono::seconds(3));
      break;
    case PageBehaviour::hang:
      for (int i = 0; i < 300 && !stopping; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      keep_alive = false;
      return;
    case PageBehaviour::redirect:
      redirect(http::status::moved_permanently, "/mirror" + target);
      return;
    case PageBehaviour::redirect_loop:
      redirect(http::status::found, target);
      return;
    case PageBehaviour::json:
    case PageBehaviour::html:
      break;
    }
    if (!known) {
      reply(http::status::not_found, "no such project", "text/plain");
      return;
    }
    if (wants_json && behaviour != PageBehaviour::html) {
      reply(http::status::ok, page_json(project, files), "application/vnd.pypi.simple.v1+json");
    } else {
      reply(http::status::ok, page_html(project, files), "text/html");
    }
    return;
  }

  const bool integrity = target.starts_with("/integrity/") && target.ends_with("/provenance");
  if (integrity || target.starts_with("/attestations/")) {
    // /integrity/<project>/<version>/<filename>/provenance, or /attestations/<filename> for a
    // file whose listing moved its provenance there
    const std::string rest =
      integrity ? target.substr(0, target.size() - std::string("/provenance").size()) : target;
    const std::string filename = rest.substr(rest.rfind('/') + 1);
    std::optional<std::string> document;
    bool failing = false;
    {
      std::lock_guard lock(mutex);
      ++file_counts[filename + (integrity ? ".provenance" : ".attestations")];
      for (const auto& [project, files] : projects) {
        for (const auto& f : files) {
          if (f.filename == filename && integrity == (f.provenance_key != ProvenanceKey::moved)) {
            document = f.provenance;
            failing = f.behaviour == FileBehaviour::error_500;
          }
        }
      }
    }
    if (failing) {
      reply(http::status::internal_server_error, "failing on purpose", "text/plain");
    } else if (!document) {
      reply(http::status::not_found, "no provenance", "text/plain");
    } else {
      reply(http::status::ok, *document, "application/vnd.pypi.integrity.v1+json");
    }
    return;
  }

  if (target.starts_with("/packages/")) {
    const auto slash = target.rfind('/');
    std::string filename = target.substr(slash + 1);
    const bool metadata = filename.ends_with(".metadata");
    if (metadata) {
      filename.resize(filename.size() - 9);
    }
    std::optional<FakeFile> file;
    const std::string_view range = request[http::field::range];
    {
      std::lock_guard lock(mutex);
      ++(range.empty() ? file_counts : range_counts)[metadata ? filename + ".metadata" : filename];
      for (const auto& [project, files] : projects) {
        for (const auto& f : files) {
          if (f.filename == filename) {
            file = f;
          }
        }
      }
    }
    if (!file || (metadata && !file->metadata)) {
      reply(http::status::not_found, "no such file", "text/plain");
      return;
    }
    if (metadata) {
      reply(http::status::ok, *file->metadata, "application/octet-stream");
      return;
    }
    std::string body = file->content;
    const FileBehaviour behaviour = mirrored ? FileBehaviour::normal : file->behaviour;
    if (!range.empty() && range.starts_with("bytes=") && behaviour == FileBehaviour::normal) {
      // Just enough of RFC 9110 for wheel inspection: one "bytes=first-last" range.
      const auto dash = range.find('-');
      const auto first = std::stoull(std::string(range.substr(6, dash - 6)));
      const auto last = std::min<std::uint64_t>(std::stoull(std::string(range.substr(dash + 1))), body.size() - 1);
      http::response<http::string_body> partial{http::status::partial_content, 11};
      partial.set(http::field::content_type, "application/octet-stream");
      partial.set(http::field::content_range, fmt::format("bytes {}-{}/{}", first, last, body.size()));
      partial.keep_alive(keep_alive);
      // A lying upstream answers Range requests from other bytes than the whole file.
      const std::string& ranged = file->range_content ? *file->range_content : body;
      partial.body() = ranged.substr(first, last - first + 1);
      partial.prepare_payload();
      http::write(socket, partial, ec);
      return;
    }
    switch (behaviour) {
    case FileBehaviour::redirect:
      redirect(http::status::found, "/mirror" + target);
      return;
    case FileBehaviour::error_500:
      reply(http::status::internal_server_error, "boom", "text/plain");
      return;
    case FileBehaviour::corrupt:
      if (!body.empty()) {
        body[body.size() / 2] = static_cast<char>(body[body.size() / 2] ^ 0x5a);
      }
      break;
    case FileBehaviour::oversize:
      body += "trailing junk";
      break;
    case FileBehaviour::truncate: {
      // Declare the full length, then hang up halfway.
      const std::string head = fmt::format(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n", body.size());
      net::write(socket, net::buffer(head), ec);
      net::write(socket, net::buffer(body.data(), body.size() / 2), ec);
      keep_alive = false;
      return;
    }
    case FileBehaviour::slow: {
      const std::string head = fmt::format(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n", body.size());
      net::write(socket, net::buffer(head), ec);
      const std::size_t piece = std::max<std::size_t>(1, body.size() / 30);
      for (std::size_t offset = 0; offset < body.size() && !ec && !stopping; offset += piece) {
        net::write(socket, net::buffer(body.data() + offset, std::min(piece, body.size() - offset)), ec);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      return;
    }
    case FileBehaviour::stall: {
      const std::string head = fmt::format(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n", body.size());
      net::write(socket, net::buffer(head), ec);
      net::write(socket, net::buffer(body.data(), body.size() / 2), ec);
      for (int i = 0; i < 300 && !stopping; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      keep_alive = false;
      return;
    }
    case FileBehaviour::chunked:
    case FileBehaviour::chunked_corrupt: {
      if (behaviour == FileBehaviour::chunked_corrupt && !body.empty()) {
        body[body.size() / 2] = static_cast<char>(body[body.size() / 2] ^ 0x5a);
      }
      std::string wire = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
      for (std::size_t offset = 0; offset < body.size(); offset += 65536) {
        const std::size_t size = std::min<std::size_t>(65536, body.size() - offset);
        wire += fmt::format("{:x}\r\n", size);
        wire.append(body, offset, size);
        wire += "\r\n";
      }
      wire += "0\r\n\r\n";
      net::write(socket, net::buffer(wire), ec);
      return;
    }
    case FileBehaviour::normal:
      break;
    }
    reply(http::status::ok, std::move(body), "application/octet-stream");
    return;
  }
  reply(http::status::not_found, "not found", "text/plain");
}

} // namespace airlock::test
