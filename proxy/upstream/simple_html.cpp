// PEP 503 HTML project pages from upstream: a small scanner for anchors and meta tags, entity
// decoding, every file entry checked as the JSON parser checks it.
#include "upstream/simple_parse.hpp"

#include "upstream/page_builder.hpp"

#include <airlock/policy/filename.hpp>
#include <airlock/util/utf8.hpp>
#include <airlock/util/assert.hpp>

#include <fmt/core.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <span>

#include <boost/url.hpp>

namespace airlock::proxy {

using namespace page;

namespace {

void
append_utf8(std::string& out, std::uint32_t cp)
{
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Decodes a numeric reference body ("39", "x27") into `cp`; false when it is not one.
bool
decode_numeric_reference(std::string_view digits, std::uint32_t& cp)
{
  int base = 10;
  if (!digits.empty() && (digits[0] == 'x' || digits[0] == 'X')) {
    base = 16;
    digits.remove_prefix(1);
  }
  if (digits.empty()) {
    return false;
  }
  std::uint32_t value = 0;
  for (const char c : digits) {
    int d = -1;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    }
    if (d < 0) {
      return false;
    }
    // Saturate: an absurdly long reference is out of range, not an overflow.
    if (value <= 0x10FFFF) {
      value = value * static_cast<std::uint32_t>(base) + static_cast<std::uint32_t>(d);
    }
  }
  // As HTML5 does: NUL, surrogates and beyond-Unicode become U+FFFD.
  if (value == 0 || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    value = 0xFFFD;
  }
  cp = value;
  return true;
}

// Decodes &amp; &lt; &gt; &quot; &#39; &apos; and numeric references (which must end in ';').
// Anything else is left as written, as a browser would for an unknown name.
std::string
decode_entities(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto amp = text.find('&', pos);
    if (amp == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    out.append(text.substr(pos, amp - pos));
    pos = amp + 1;
    // Real references are short; don't let a lone '&' scan the rest of a large page.
    const auto semi = text.substr(pos, 12).find(';');
    if (semi == std::string_view::npos) {
      out.push_back('&');
      continue;
    }
    const auto name = text.substr(pos, semi);
    static constexpr std::array<std::pair<std::string_view, char>, 5> k_named = {
      {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}}};
    bool decoded = false;
    for (const auto& [entity, c] : k_named) {
      if (name == entity) {
        out.push_back(c);
        decoded = true;
        break;
      }
    }
    std::uint32_t cp = 0;
    if (!decoded && name.size() > 1 && name[0] == '#'
        && decode_numeric_reference(name.substr(1), cp)) {
      append_utf8(out, cp);
      decoded = true;
    }
    if (decoded) {
      pos += semi + 1;
    } else {
      out.push_back('&');
    }
  }
  return out;
}

// A minimal tokenizer for the few tags a simple page has. It understands comments, doctype,
// end tags, raw-text elements (<script>, <style>, <title>, <textarea>) and attributes with
// double-, single- or un-quoted values; everything else between tags is text.
class HtmlScanner
{
public:
  explicit HtmlScanner(std::string_view body) : m_body(body) {}

  // Moves to the next start tag and returns its lowercased name; nullopt at the end of input.
  std::optional<std::string> next_start_tag()
  {
    while (true) {
      const auto lt = m_body.find('<', m_pos);
      if (lt == std::string_view::npos || lt + 1 >= m_body.size()) {
        m_pos = m_body.size();
        return std::nullopt;
      }
      m_pos = lt + 1;
      const char c = m_body[m_pos];
      if (m_body.substr(lt, 4) == "<!--") {
        const auto end = m_body.find("-->", lt + 4);
        m_pos = end == std::string_view::npos ? m_body.size() : end + 3;
        continue;
      }
      if (c == '!' || c == '?' || c == '/') {
        const auto end = m_body.find('>', m_pos);
        m_pos = end == std::string_view::npos ? m_body.size() : end + 1;
        continue;
      }
      if (!is_alpha(c)) {
        continue; // a literal '<' in text
      }
      std::string name;
      while (m_pos < m_body.size() && !is_ascii_space(m_body[m_pos]) && m_body[m_pos] != '/'
             && m_body[m_pos] != '>') {
        name.push_back(to_lower(m_body[m_pos]));
        ++m_pos;
      }
      return name;
    }
  }

  // Reads the current tag's attributes up to and including its '>', storing the entity-decoded
  // value of each `wanted[i]` in `out[i]`. The first occurrence wins, as in HTML5; unwanted
  // attributes are not stored, which keeps a tag with a million attributes linear. False when
  // the input ends first (a truncated page), which also ends the scan.
  bool read_attributes(std::span<const std::string_view> wanted,
                       std::span<std::optional<std::string>> out)
  {
    AIRLOCK_ASSERT(wanted.size() == out.size());
    while (true) {
      while (m_pos < m_body.size() && (is_ascii_space(m_body[m_pos]) || m_body[m_pos] == '/')) {
        ++m_pos;
      }
      if (m_pos >= m_body.size()) {
        return false;
      }
      if (m_body[m_pos] == '>') {
        ++m_pos;
        return true;
      }
      const auto name_start = m_pos;
      // HTML5 lets an attribute name start with '='; take it as part of the name.
      ++m_pos;
      while (m_pos < m_body.size() && !is_ascii_space(m_body[m_pos]) && m_body[m_pos] != '/'
             && m_body[m_pos] != '>' && m_body[m_pos] != '=') {
        ++m_pos;
      }
      const auto name = m_body.substr(name_start, m_pos - name_start);
      skip_spaces();
      std::string_view value;
      if (m_pos < m_body.size() && m_body[m_pos] == '=') {
        ++m_pos;
        skip_spaces();
        if (m_pos >= m_body.size()) {
          return false;
        }
        const char quote = m_body[m_pos];
        if (quote == '"' || quote == '\'') {
          const auto end = m_body.find(quote, m_pos + 1);
          if (end == std::string_view::npos) {
            m_pos = m_body.size();
            return false;
          }
          value = m_body.substr(m_pos + 1, end - m_pos - 1);
          m_pos = end + 1;
        } else {
          const auto start = m_pos;
          while (m_pos < m_body.size() && !is_ascii_space(m_body[m_pos])
                 && m_body[m_pos] != '>') {
            ++m_pos;
          }
          value = m_body.substr(start, m_pos - start);
        }
      }
      for (std::size_t i = 0; i < wanted.size(); ++i) {
        if (!out[i] && iequals(name, wanted[i])) {
          out[i] = decode_entities(value);
          break;
        }
      }
    }
  }

  // Returns the text up to the next tag, decoded and trimmed.
  std::string read_text()
  {
    const auto lt = m_body.find('<', m_pos);
    const auto end = lt == std::string_view::npos ? m_body.size() : lt;
    const auto text = m_body.substr(m_pos, end - m_pos);
    m_pos = end;
    return decode_entities(trim(text));
  }

  // Skips a raw-text element's content up to its end tag, so markup inside a <script> or
  // <title> is not taken for links.
  void skip_raw_text(std::string_view tag_name)
  {
    while (true) {
      const auto lt = m_body.find("</", m_pos);
      if (lt == std::string_view::npos) {
        m_pos = m_body.size();
        return;
      }
      m_pos = lt + 2;
      if (iequals(m_body.substr(m_pos, tag_name.size()), tag_name)) {
        return;
      }
    }
  }

private:
  static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

  void skip_spaces()
  {
    while (m_pos < m_body.size() && is_ascii_space(m_body[m_pos])) {
      ++m_pos;
    }
  }

  std::string_view m_body;
  std::size_t m_pos = 0;
};

constexpr std::array<std::string_view, 6> k_anchor_attributes = {
  "href", "data-requires-python", "data-yanked", "data-core-metadata", "data-dist-info-metadata", "data-provenance"};
constexpr std::size_t k_href = 0;
constexpr std::size_t k_requires_python = 1;
constexpr std::size_t k_yanked = 2;
constexpr std::size_t k_core_metadata = 3;
constexpr std::size_t k_dist_info_metadata = 4;
constexpr std::size_t k_provenance = 5;
using AnchorAttributes = std::array<std::optional<std::string>, k_anchor_attributes.size()>;

constexpr std::array<std::string_view, 2> k_meta_attributes = {"name", "content"};
constexpr std::size_t k_meta_name = 0;
constexpr std::size_t k_meta_content = 1;
using MetaAttributes = std::array<std::optional<std::string>, k_meta_attributes.size()>;

// PEP 714 in HTML: "sha256=<hex>" is usable; "true" or another hash name is not.
std::optional<Sha256>
html_core_metadata(const AnchorAttributes& attrs)
{
  const auto& value = attrs[k_core_metadata] ? attrs[k_core_metadata] : attrs[k_dist_info_metadata];
  if (!value || !value->starts_with("sha256=")) {
    return std::nullopt;
  }
  return Sha256::from_hex(std::string_view(*value).substr(7));
}

// Fills `out` from an anchor; returns why it is unusable.
std::optional<std::string>
read_html_file(const AnchorAttributes& attrs, const PageBuilder& builder, Candidate& out)
{
  if (!attrs[k_href]) {
    return "anchor without href";
  }
  auto resolved = builder.resolve(*attrs[k_href]);
  if (!resolved) {
    return resolved.error();
  }
  out.url = std::move(resolved->url);
  if (out.filename.empty()) {
    // PEP 503 says the text matches the URL's last path segment; fall back to that segment.
    const auto parsed = boost::urls::parse_uri(out.url);
    if (parsed && !parsed->segments().empty()) {
      out.filename = parsed->segments().back();
    }
  }

  const std::string_view fragment = resolved->fragment;
  const auto equals = fragment.find('=');
  if (equals == std::string_view::npos || fragment.substr(0, equals) != "sha256") {
    return "no #sha256= fragment";
  }
  const auto digest = Sha256::from_hex(fragment.substr(equals + 1));
  if (!digest) {
    return "invalid sha256 hash";
  }
  out.sha256 = *digest;

  if (const auto& requires_python = attrs[k_requires_python]) {
    if (requires_python->size() <= k_max_requires_python) {
      out.requires_python = clean_text(*requires_python); // only grows
    }
    if (requires_python->size() > k_max_requires_python || out.requires_python.size() > k_max_requires_python) {
      return "data-requires-python is longer than 1024 bytes";
    }
  }
  // PEP 592: the attribute's presence yanks; its value, possibly empty, is the reason.
  if (const auto& yanked = attrs[k_yanked]) {
    out.yanked = bounded(clean_text(*yanked), k_max_reason);
  }
  out.core_metadata = html_core_metadata(attrs);
  // PEP 740 in HTML: the attribute gives the provenance URL; without it nothing is said.
  if (const auto& provenance = attrs[k_provenance]) {
    auto resolved_provenance = builder.resolve(*provenance);
    if (!resolved_provenance) {
      return "data-provenance: " + resolved_provenance.error();
    }
    out.provenance_url = std::move(resolved_provenance->url);
  }
  return std::nullopt;
}

} // namespace

Expected<UpstreamPage>
parse_html_page(std::string_view body, std::string_view page_url, std::string_view project)
{
  if (auto ok = check_body_size(body); !ok) {
    return make_unexpected(ok.error());
  }
  const auto base = parse_page_url(page_url);
  if (!base) {
    return make_unexpected(base.error());
  }

  PageBuilder builder(*base, project);
  HtmlScanner scanner(body);
  std::size_t anchors = 0;
  while (const auto tag = scanner.next_start_tag()) {
    if (*tag == "a") {
      AnchorAttributes attrs;
      if (!scanner.read_attributes(k_anchor_attributes, attrs)) {
        break;
      }
      if (++anchors > k_max_files_per_page) {
        return make_unexpected(
          fmt::format("page lists over {} files, the limit", k_max_files_per_page));
      }
      Candidate candidate;
      candidate.filename = scanner.read_text();
      if (auto why = read_html_file(attrs, builder, candidate)) {
        builder.skip(candidate.filename, *why);
        continue;
      }
      builder.add(std::move(candidate));
    } else if (*tag == "meta") {
      MetaAttributes attrs;
      if (!scanner.read_attributes(k_meta_attributes, attrs)) {
        break;
      }
      if (!attrs[k_meta_name] || !attrs[k_meta_content]) {
        continue;
      }
      const auto& name = *attrs[k_meta_name];
      const auto& content = *attrs[k_meta_content];
      if (iequals(name, "pypi:repository-version") && !is_api_version_1(content)) {
        return make_unexpected(
          fmt::format("unsupported repository-version \"{}\"", printable(content)));
      }
      if (iequals(name, "pypi:project-status")) {
        builder.page().status = bounded(clean_text(content), k_max_reason);
      } else if (iequals(name, "pypi:project-status-reason")) {
        builder.page().status_reason = bounded(clean_text(content), k_max_reason);
      }
    } else {
      if (!scanner.read_attributes({}, {})) {
        break;
      }
      if (*tag == "script" || *tag == "style" || *tag == "title" || *tag == "textarea") {
        scanner.skip_raw_text(*tag);
      }
    }
  }
  return std::move(builder.page());
}

} // namespace airlock::proxy
