// Content negotiation for the Simple API (PEP 691): Accept q-values, wildcards and
// ?format=, down to HTML, versioned HTML or JSON.
#include "http/negotiate.hpp"

#include <airlock/util/text.hpp>

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace airlock::proxy {

namespace {

bool
is_ows(char c)
{
  return c == ' ' || c == '\t';
}

std::string_view
trim(std::string_view text)
{
  while (!text.empty() && is_ows(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_ows(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

// RFC 9110 token: what a media type and subtype are made of.
bool
is_token(std::string_view text)
{
  if (text.empty()) {
    return false;
  }
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) {
      return false;
    }
  }
  return true;
}

// RFC 9110 qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3"0"], as thousandths. nullopt when malformed.
std::optional<int>
parse_qvalue(std::string_view text)
{
  if (text.empty() || text.size() > 5 || (text[0] != '0' && text[0] != '1')) {
    return std::nullopt;
  }
  int value = (text[0] - '0') * 1000;
  if (text.size() == 1) {
    return value;
  }
  if (text[1] != '.') {
    return std::nullopt;
  }
  int scale = 100;
  for (const char c : text.substr(2)) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value += (c - '0') * scale;
    scale /= 10;
  }
  if (value > 1000) {
    return std::nullopt;
  }
  return value;
}

// One media range from an Accept header (or ?format=), with its weight.
struct MediaRange
{
  std::string type;    // lowercase, "*" for a wildcard
  std::string subtype; // lowercase, "*" for a wildcard
  int q = 1000;        // thousandths
};

// In a query string, form decoding turns the '+' of "v1+json" into a space; a media type never
// holds a space, so in ?format= one can only have been a '+'.
enum class SpaceIsPlus { yes, no };

// Parses one comma-separated element; nullopt for empty or malformed ones, which are ignored
// rather than guessed at.
std::optional<MediaRange>
parse_media_range(std::string_view element, SpaceIsPlus space_is_plus)
{
  const auto semicolon = element.find(';');
  std::string unplussed;
  auto media = trim(element.substr(0, semicolon));
  if (space_is_plus == SpaceIsPlus::yes && media.find(' ') != std::string_view::npos) {
    unplussed = std::string(media);
    for (auto& c : unplussed) {
      c = c == ' ' ? '+' : c;
    }
    media = unplussed;
  }
  const auto slash = media.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == media.size()
      || media.find('/', slash + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  const auto type = media.substr(0, slash);
  const auto subtype = media.substr(slash + 1);
  if (!is_token(type) || !is_token(subtype) || (type == "*" && subtype != "*")) {
    return std::nullopt;
  }
  MediaRange range;
  range.type = lowercase(type);
  range.subtype = lowercase(subtype);
  auto params = semicolon == std::string_view::npos ? std::string_view{}
                                                    : element.substr(semicolon + 1);
  while (!params.empty()) {
    const auto next = params.find(';');
    const auto param = trim(params.substr(0, next));
    params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
    const auto equals = param.find('=');
    if (equals == std::string_view::npos) {
      continue;
    }
    if (lowercase(trim(param.substr(0, equals))) == "q") {
      const auto q = parse_qvalue(trim(param.substr(equals + 1)));
      if (!q) {
        return std::nullopt;
      }
      range.q = *q;
    }
  }
  return range;
}

struct Offer
{
  Format format;
  std::string_view type;
  std::array<std::string_view, 2> subtypes; // the versioned name and its "latest" alias
};

// In server preference order, which breaks ties between equally specific, equally weighted
// matches.
constexpr std::array<Offer, 3> k_offers = {{
  {Format::json_v1, "application", {"vnd.pypi.simple.v1+json", "vnd.pypi.simple.latest+json"}},
  {Format::html_v1, "application", {"vnd.pypi.simple.v1+html", "vnd.pypi.simple.latest+html"}},
  {Format::html, "text", {"html", "html"}},
}};

// 3 = exact type, 2 = type/*, 1 = */*, 0 = no match.
int
specificity(const MediaRange& range, const Offer& offer)
{
  if (range.type == "*") {
    return 1;
  }
  if (range.type != offer.type) {
    return 0;
  }
  if (range.subtype == "*") {
    return 2;
  }
  return range.subtype == offer.subtypes[0] || range.subtype == offer.subtypes[1] ? 3 : 0;
}

} // namespace

std::string_view
content_type(Format format)
{
  switch (format) {
  case Format::html:
    return "text/html; charset=utf-8";
  case Format::html_v1:
    return "application/vnd.pypi.simple.v1+html";
  case Format::json_v1:
    return "application/vnd.pypi.simple.v1+json";
  }
  return "text/html; charset=utf-8";
}

std::optional<Format>
negotiate(std::string_view accept, std::string_view format_param)
{
  // ?format= is the Accept header for clients that cannot set one (PEP 691), so it goes through
  // the same rules, except that naming nothing Airlock serves is a 406, never a default.
  const bool from_param = !trim(format_param).empty();
  const std::string_view header = from_param ? format_param : accept;

  std::vector<MediaRange> ranges;
  std::string_view rest = header;
  while (true) {
    const auto comma = rest.find(',');
    if (auto range = parse_media_range(rest.substr(0, comma),
                                       from_param ? SpaceIsPlus::yes : SpaceIsPlus::no)) {
      ranges.push_back(std::move(*range));
    }
    if (comma == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(comma + 1);
  }
  if (ranges.empty()) {
    // No Accept (or nothing parseable in it): what PyPI gives, HTML.
    if (from_param) {
      return std::nullopt;
    }
    return Format::html;
  }

  // RFC 9110 12.5.1: the most specific range that matches an offer sets its weight.
  struct Score
  {
    int q = 0;
    int specificity = 0;
  };
  std::array<Score, k_offers.size()> scores{};
  for (std::size_t i = 0; i < k_offers.size(); ++i) {
    for (const auto& range : ranges) {
      const int s = specificity(range, k_offers[i]);
      if (s > scores[i].specificity) {
        scores[i] = {range.q, s};
      } else if (s > 0 && s == scores[i].specificity && range.q > scores[i].q) {
        scores[i].q = range.q; // e.g. both the v1 and the latest alias are listed
      }
    }
  }

  // Highest weight first; among equals, a type the client named beats one it only reached
  // through a wildcard, then server preference. A bare "*/*" is the one exception: older clients
  // (poetry 1.3) send it and parse only HTML, so it gets text/html, as on PyPI.
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < k_offers.size(); ++i) {
    if (scores[i].q <= 0) {
      continue;
    }
    if (!best || scores[i].q > scores[*best].q
        || (scores[i].q == scores[*best].q
            && scores[i].specificity > scores[*best].specificity)) {
      best = i;
    }
  }
  if (!best) {
    return std::nullopt;
  }
  constexpr std::size_t k_text_html = 2;
  if (scores[*best].specificity == 1 && scores[k_text_html].specificity == 1
      && scores[k_text_html].q == scores[*best].q) {
    return Format::html;
  }
  return k_offers[*best].format;
}

bool
accepts_gzip(std::string_view accept_encoding)
{
  std::optional<int> gzip;
  std::optional<int> any;
  while (!accept_encoding.empty()) {
    const auto comma = accept_encoding.find(',');
    std::string_view element = trim(accept_encoding.substr(0, comma));
    accept_encoding = comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
    if (element.empty()) {
      continue;
    }
    int q = 1000;
    const auto semicolon = element.find(';');
    const std::string_view coding = trim(element.substr(0, semicolon));
    if (semicolon != std::string_view::npos) {
      const std::string_view param = trim(element.substr(semicolon + 1));
      if (param.size() < 2 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=') {
        continue;
      }
      const auto parsed = parse_qvalue(trim(param.substr(2)));
      if (!parsed) {
        continue;
      }
      q = *parsed;
    }
    const std::string name = lowercase(coding);
    if (name == "gzip" || name == "x-gzip") {
      gzip = std::max(gzip.value_or(0), q);
    } else if (name == "*") {
      any = q;
    }
  }
  return gzip ? *gzip > 0 : any.value_or(0) > 0;
}

} // namespace airlock::proxy
