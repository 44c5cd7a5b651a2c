#include "exchange.hpp"

#include <airlock/util/sha256.hpp>

#include <optional>

namespace airlock::proxy {

namespace {

template<typename Body>
void
finish_headers(Exchange& exchange, http::response<Body>& response)
{
  response.version(exchange.request.version());
  response.keep_alive(exchange.keep_alive);
  response.set(http::field::server, "airlock");
  exchange.status = response.result_int();
}

} // namespace

Awaitable<void>
send(Exchange& exchange, http::response<http::span_body<const char>>& response)
{
  finish_headers(exchange, response);
  response.content_length(response.body().size());
  exchange.stream.expires_after(k_write_timeout);
  beast::error_code ec;
  if (exchange.head) {
    http::response_serializer<http::span_body<const char>> serializer{response};
    std::tie(ec, std::ignore) = co_await http::async_write_header(exchange.stream, serializer, use_tuple);
  } else {
    std::tie(ec, std::ignore) = co_await http::async_write(exchange.stream, response, use_tuple);
    if (!ec) {
      exchange.bytes += response.body().size();
    }
  }
  if (ec) {
    exchange.keep_alive = false;
  }
}

Awaitable<void>
send_text(Exchange& exchange, http::status status, std::string_view text, std::string_view reason)
{
  std::string body(text);
  body += '\n';
  http::response<http::span_body<const char>> response{status, 11};
  if (!reason.empty()) {
    response.reason(reason);
  }
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.set(http::field::cache_control, "no-store");
  response.body() = {body.data(), body.size()};
  co_await send(exchange, response);
}

Awaitable<void>
send_redirect(Exchange& exchange, http::status status, std::string_view location)
{
  static constexpr std::string_view k_body = "redirect\n";
  http::response<http::span_body<const char>> response{status, 11};
  response.set(http::field::location, location);
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.body() = {k_body.data(), k_body.size()};
  co_await send(exchange, response);
}

Awaitable<bool>
send_header(Exchange& exchange, http::response<http::empty_body>& response)
{
  finish_headers(exchange, response);
  exchange.stream.expires_after(k_write_timeout);
  http::response_serializer<http::empty_body> serializer{response};
  auto [ec, written] = co_await http::async_write_header(exchange.stream, serializer, use_tuple);
  if (ec) {
    exchange.keep_alive = false;
    co_return false;
  }
  co_return true;
}

std::optional<std::string>
percent_decode(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return std::nullopt;
      }
      const int hi = hex_digit_value(text[i + 1]);
      const int lo = hex_digit_value(text[i + 2]);
      if (hi < 0 || lo < 0) {
        return std::nullopt;
      }
      c = static_cast<char>(hi << 4 | lo);
      i += 2;
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return std::nullopt;
    }
    out += c;
  }
  return out;
}

std::string
query_param(std::string_view query, std::string_view name)
{
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) {
      continue;
    }
    // '+' stays '+': PEP 691's own example is ?format=application/vnd.pypi.simple.v1+json.
    return percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1)).value_or("");
  }
  return {};
}

} // namespace airlock::proxy
