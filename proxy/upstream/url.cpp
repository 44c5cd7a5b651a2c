// Absolute http(s) URLs: taking them apart for a connection and resolving references (a
// listing's relative file URLs, a Location header) against them.
#include "upstream/url.hpp"

#include <airlock/util/text.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <boost/url/url_view.hpp>
#include <fmt/core.h>

namespace airlock::proxy {

std::string
Url::origin() const
{
  return fmt::format("{}://{}:{}", scheme, host, port);
}

Expected<Url>
parse_url(std::string_view text)
{
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) {
    return make_unexpected(fmt::format("invalid URL \"{}\": {}", text, parsed.error().message()));
  }
  const boost::urls::url_view& view = *parsed;
  Url url;
  url.scheme = lowercase(view.scheme());
  if (url.scheme != "http" && url.scheme != "https") {
    return make_unexpected(fmt::format("invalid URL \"{}\": scheme must be http or https", text));
  }
  url.host = view.encoded_host_address();
  if (view.host_type() == boost::urls::host_type::ipv6) {
    url.host = view.host_address();
  } else {
    url.host = lowercase(view.host_address());
  }
  if (url.host.empty()) {
    return make_unexpected(fmt::format("invalid URL \"{}\": no host", text));
  }
  if (view.has_port()) {
    const auto port = view.port_number();
    if (port == 0) {
      return make_unexpected(fmt::format("invalid URL \"{}\": bad port", text));
    }
    url.port = port;
  } else {
    url.port = url.tls() ? 443 : 80;
  }
  url.target = std::string(view.encoded_path());
  if (url.target.empty()) {
    url.target = "/";
  }
  if (view.has_query()) {
    url.target += "?";
    url.target += view.encoded_query();
  }
  return url;
}

Expected<std::string>
resolve_url(std::string_view base, std::string_view reference)
{
  auto base_view = boost::urls::parse_uri(base);
  if (!base_view) {
    return make_unexpected(fmt::format("invalid base URL \"{}\"", base));
  }
  auto ref = boost::urls::parse_uri_reference(reference);
  if (!ref) {
    return make_unexpected(fmt::format("invalid URL reference \"{}\"", reference));
  }
  boost::urls::url out;
  auto result = boost::urls::resolve(*base_view, *ref, out);
  if (!result) {
    return make_unexpected(fmt::format("cannot resolve \"{}\" against \"{}\"", reference, base));
  }
  out.normalize_path();
  return std::string(out.buffer());
}

} // namespace airlock::proxy
