#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>

namespace airlock::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

HttpResponse
http_get(std::uint16_t port, const std::string& target, const Headers& headers, const std::string& method)
{
  return http_request(port, method, target, headers, {});
}

HttpResponse
http_request(std::uint16_t port, const std::string& method, const std::string& target, const Headers& headers,
             const std::string& body)
{
  HttpResponse out;
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) {
    out.error = "connect: " + ec.message();
    return out;
  }
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) {
    request.set(name, value);
  }
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
  }
  request.prepare_payload();
  http::write(stream, request, ec);
  if (ec) {
    out.error = "write: " + ec.message();
    return out;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1ULL << 32);
  if (method == "HEAD") {
    parser.skip(true);
  }
  http::read(stream, buffer, parser, ec);
  const auto& response = parser.get();
  out.status = response.result_int();
  out.reason = std::string(response.reason());
  out.body = response.body();
  for (const auto& field : response) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    out.headers[name] = std::string(field.value());
  }
  out.complete = !ec && parser.is_done();
  if (ec) {
    out.error = ec.message();
  }
  return out;
}

std::string
raw_exchange(std::uint16_t port, const std::string& bytes)
{
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  if (ec) {
    return {};
  }
  net::write(stream.socket(), net::buffer(bytes), ec);
  std::string out;
  char chunk[4096];
  for (;;) {
    stream.expires_after(std::chrono::seconds(5));
    const auto n = stream.read_some(net::buffer(chunk), ec);
    out.append(chunk, n);
    if (ec) {
      break;
    }
  }
  return out;
}

} // namespace airlock::test
