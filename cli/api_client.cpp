// The CLI's side of the admin API: one blocking HTTP(S) request per call, with a bearer token,
// and downloads streamed through a hash without keeping them (snapshot --prefetch).
#include "cli/api_client.hpp"

#include "http/net.hpp"
#include "upstream/url.hpp"

#include <fmt/core.h>
#include <openssl/ssl.h>

#include <array>
#include <memory>
#include <optional>

namespace airlock::cli {

namespace {

using namespace proxy; // the Asio/Beast vocabulary of http/net.hpp, and parse_url

constexpr std::chrono::seconds k_timeout{60};

template<typename Stream>
Expected<ApiResponse>
exchange(Stream& stream, http::request<http::string_body>& request)
{
  beast::error_code ec;
  http::write(stream, request, ec);
  if (ec) {
    return make_unexpected("sending the request failed: " + ec.message());
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256u << 20);
  http::read(stream, buffer, parser, ec);
  if (ec) {
    return make_unexpected("reading the response failed: " + ec.message());
  }
  return ApiResponse{parser.get().result_int(), std::move(parser.get().body())};
}

} // namespace

namespace {

// A connected stream to the server, plain or TLS.
struct Connection
{
  net::io_context ioc;
  ssl::context context{ssl::context::tls_client};
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  std::string path_prefix; // the server URL's path, without a trailing '/'
  std::string host;
};

Expected<std::unique_ptr<Connection>>
connect(std::string_view server)
{
  auto url = parse_url(server);
  if (!url) {
    return make_unexpected(fmt::format("--server: {}", url.error()));
  }
  auto connection = std::make_unique<Connection>();
  connection->path_prefix = url->target;
  while (!connection->path_prefix.empty() && connection->path_prefix.back() == '/') {
    connection->path_prefix.pop_back();
  }
  connection->host = url->host;
  tcp::resolver resolver(connection->ioc);
  beast::error_code ec;
  const auto endpoints = resolver.resolve(url->host, std::to_string(url->port), ec);
  if (ec) {
    return make_unexpected(fmt::format("cannot resolve {}: {}", url->host, ec.message()));
  }
  beast::tcp_stream stream(connection->ioc);
  stream.expires_after(k_timeout);
  stream.connect(endpoints, ec);
  if (ec) {
    return make_unexpected(
      fmt::format("cannot reach Airlock at {}: {} (is `airlock serve` running?)", server, ec.message()));
  }
  if (!url->tls()) {
    connection->plain.emplace(std::move(stream));
    return connection;
  }
  connection->context.set_default_verify_paths();
  connection->context.set_verify_mode(ssl::verify_peer);
  connection->tls.emplace(std::move(stream), connection->context);
  SSL_set_tlsext_host_name(connection->tls->native_handle(), url->host.c_str());
  connection->tls->set_verify_callback(ssl::host_name_verification(url->host));
  connection->tls->handshake(ssl::stream_base::client, ec);
  if (ec) {
    return make_unexpected(fmt::format("TLS handshake with {} failed: {}", url->host, ec.message()));
  }
  return connection;
}

http::request<http::string_body>
make_request(const Connection& connection, std::string_view method, std::string_view target, std::string_view token)
{
  http::request<http::string_body> request{http::string_to_verb(method), connection.path_prefix + std::string(target),
                                           11};
  request.set(http::field::host, connection.host);
  request.set(http::field::user_agent, "airlock-cli/0.1");
  if (!token.empty()) {
    request.set(http::field::authorization, fmt::format("Bearer {}", token));
  }
  return request;
}

template<typename Stream>
Expected<std::pair<unsigned, std::uint64_t>>
discard(Stream& stream, http::request<http::string_body>& request, Sha256Hasher* hasher)
{
  beast::error_code ec;
  http::write(stream, request, ec);
  if (ec) {
    return make_unexpected("sending the request failed: " + ec.message());
  }
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  http::read_header(stream, buffer, parser, ec);
  std::array<char, 65536> chunk{};
  std::uint64_t total = 0;
  while (!ec && !parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    http::read(stream, buffer, parser, ec);
    if (ec == http::error::need_buffer) {
      ec = {};
    }
    const auto got = chunk.size() - parser.get().body().size;
    if (hasher != nullptr) {
      hasher->update(std::string_view(chunk.data(), got));
    }
    total += got;
  }
  if (ec) {
    return make_unexpected("reading the response failed: " + ec.message());
  }
  return std::pair{parser.get().result_int(), total};
}

} // namespace

Expected<ApiResponse>
call_api(std::string_view server, std::string_view method, std::string_view target, std::string_view token,
         std::string_view body, std::string_view accept)
{
  auto connection = connect(server);
  if (!connection) {
    return make_unexpected(connection.error());
  }
  auto request = make_request(**connection, method, target, token);
  request.set(http::field::accept, accept);
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = std::string(body);
  }
  request.prepare_payload();
  auto& c = **connection;
  return c.tls ? exchange(*c.tls, request) : exchange(*c.plain, request);
}

Expected<std::pair<unsigned, std::uint64_t>>
fetch_and_discard(std::string_view server, std::string_view target, std::string_view token, Sha256Hasher* hasher)
{
  auto connection = connect(server);
  if (!connection) {
    return make_unexpected(connection.error());
  }
  auto request = make_request(**connection, "GET", target, token);
  request.prepare_payload();
  auto& c = **connection;
  return c.tls ? discard(*c.tls, request, hasher) : discard(*c.plain, request, hasher);
}

} // namespace airlock::cli
