// One request and its answer: writing responses (prepared headers, MSG_MORE, would-block
// waits), text and redirects, percent-decoding and query parameters.
#include "http/exchange.hpp"

#include <airlock/util/sha256.hpp>

#include <array>
#include <charconv>
#include <limits>
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

std::string
prepare_head(Exchange& exchange, http::status status, std::string_view fields,
             std::optional<std::uint64_t> content_length)
{
  const unsigned version = exchange.request.version();
  const auto code = static_cast<unsigned>(status);
  const std::string_view reason = http::obsolete_reason(status);
  std::string header;
  header.reserve(fields.size() + reason.size() + 96);
  header += "HTTP/";
  header += static_cast<char>('0' + version / 10 % 10);
  header += '.';
  header += static_cast<char>('0' + version % 10);
  header += ' ';
  header += static_cast<char>('0' + code / 100 % 10);
  header += static_cast<char>('0' + code / 10 % 10);
  header += static_cast<char>('0' + code % 10);
  header += ' ';
  header += reason;
  header += "\r\n";
  header += fields;
  // As Beast's keep_alive(): HTTP/1.1 says when it closes, HTTP/1.0 when it does not.
  if (version >= 11 && !exchange.keep_alive) {
    header += "Connection: close\r\n";
  } else if (version < 11 && exchange.keep_alive) {
    header += "Connection: keep-alive\r\n";
  }
  header += "Server: airlock\r\n";
  if (content_length) {
    header += "Content-Length: ";
    std::array<char, 24> digits{};
    const auto converted = std::to_chars(digits.data(), digits.data() + digits.size(), *content_length);
    header.append(digits.data(), converted.ptr);
    header += "\r\n";
  } else if (version >= 11) {
    header += "Transfer-Encoding: chunked\r\n";
  }
  header += "\r\n";
  exchange.status = code;
  return header;
}

Awaitable<bool>
write_now(Exchange& exchange, std::string_view first, std::string_view second, bool more)
{
  const std::array<net::const_buffer, 2> buffers{net::buffer(first.data(), first.size()),
                                                 net::buffer(second.data(), second.size())};
  co_return co_await write_now(exchange, buffers, more);
}

Awaitable<bool>
write_now(Exchange& exchange, std::span<const net::const_buffer> buffers, bool more)
{
  const std::size_t total = net::buffer_size(buffers);
  // The socket is non-blocking (see Server::Impl::listen): this writes what the kernel takes
  // now, and only the rest, if any, waits for the socket with a timeout.
  const net::socket_base::message_flags flags = more ? MSG_MORE : 0;
  beast::error_code ec;
  std::size_t written = exchange.stream.socket().send(buffers, flags, ec);
  if (ec == net::error::would_block || ec == net::error::try_again) {
    ec = {};
    written = 0;
  }
  if (!ec && written < total) {
    auto rest = beast::buffers_suffix<std::span<const net::const_buffer>>(buffers);
    rest.consume(written);
    exchange.stream.expires_after(k_write_timeout);
    // Asio's transfer_all would split the rest into 64 KiB writes; one write per readiness.
    const auto everything = [](const beast::error_code& error, std::size_t) -> std::size_t {
      return error ? 0 : std::numeric_limits<std::size_t>::max() / 2;
    };
    auto [error, more_written] = co_await net::async_write(exchange.stream, rest, everything, use_tuple);
    ec = error;
  }
  if (ec) {
    exchange.keep_alive = false;
    co_return false;
  }
  co_return true;
}

Awaitable<void>
send_prepared(Exchange& exchange, http::status status, std::string_view fields, std::string_view body)
{
  const std::string header = prepare_head(exchange, status, fields, body.size());
  std::string_view payload;
  if (!exchange.head) {
    payload = body;
  }
  if (co_await write_now(exchange, header, payload, false)) {
    exchange.bytes += payload.size();
  }
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
