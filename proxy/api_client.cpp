#include "api_client.hpp"

#include "net.hpp"
#include "upstream_client.hpp"

#include <fmt/core.h>
#include <openssl/ssl.h>

namespace airlock::proxy {

namespace {

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

Expected<ApiResponse>
call_api(std::string_view server, std::string_view method, std::string_view target, std::string_view token,
         std::string_view body)
{
  auto url = parse_url(server);
  if (!url) {
    return make_unexpected(fmt::format("--server: {}", url.error()));
  }
  std::string path = url->target;
  while (!path.empty() && path.back() == '/') {
    path.pop_back();
  }
  http::request<http::string_body> request{http::string_to_verb(method), path + std::string(target), 11};
  request.set(http::field::host, url->host);
  request.set(http::field::user_agent, "airlock-cli/0.1");
  request.set(http::field::accept, "application/json");
  if (!token.empty()) {
    request.set(http::field::authorization, fmt::format("Bearer {}", token));
  }
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = std::string(body);
  }
  request.prepare_payload();

  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  const auto endpoints = resolver.resolve(url->host, std::to_string(url->port), ec);
  if (ec) {
    return make_unexpected(fmt::format("cannot resolve {}: {}", url->host, ec.message()));
  }
  beast::tcp_stream stream(ioc);
  stream.expires_after(k_timeout);
  stream.connect(endpoints, ec);
  if (ec) {
    return make_unexpected(
      fmt::format("cannot reach Airlock at {}: {} (is `airlock serve` running?)", server, ec.message()));
  }
  if (!url->tls()) {
    return exchange(stream, request);
  }
  ssl::context context(ssl::context::tls_client);
  context.set_default_verify_paths();
  context.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> tls(std::move(stream), context);
  SSL_set_tlsext_host_name(tls.native_handle(), url->host.c_str());
  tls.set_verify_callback(ssl::host_name_verification(url->host));
  tls.handshake(ssl::stream_base::client, ec);
  if (ec) {
    return make_unexpected(fmt::format("TLS handshake with {} failed: {}", url->host, ec.message()));
  }
  return exchange(tls, request);
}

} // namespace airlock::proxy
