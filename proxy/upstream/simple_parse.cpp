#include "upstream/simple_parse.hpp"

#include <airlock/util/utf8.hpp>

#include <airlock/policy/filename.hpp>
#include <airlock/util/assert.hpp>

#include <boost/json.hpp>
#include <boost/url.hpp>
#include <fmt/core.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <span>
#include <unordered_set>

namespace airlock::proxy {

namespace {

constexpr std::uint64_t k_max_file_size = std::uint64_t{1} << 40; // 1 TiB
// Real pages nest four levels deep; a hostile, deeply nested body becomes an error before the
// tree it builds can cost stack (destroying a value recurses) or memory.
constexpr std::size_t k_max_json_depth = 32;
constexpr std::size_t k_max_url = 8192;
constexpr std::size_t k_max_requires_python = 1024;
constexpr std::size_t k_max_reason = 1024;
constexpr std::size_t k_max_logged_name = 120;

bool
is_ascii_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

char
to_lower(char c)
{
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool
iequals(std::string_view a, std::string_view b)
{
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (to_lower(a[i]) != to_lower(b[i])) {
      return false;
    }
  }
  return true;
}

std::string_view
trim(std::string_view text)
{
  while (!text.empty() && is_ascii_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_ascii_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

// Upstream names end up in log lines: keep them printable and short so a hostile filename
// cannot forge or flood log entries.
std::string
printable(std::string_view text)
{
  std::string out;
  for (const char c : text.substr(0, k_max_logged_name)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f || c == '\\') {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out.push_back(c);
    }
  }
  if (text.size() > k_max_logged_name) {
    out += "...";
  }
  return out;
}

// Cuts at most `max` bytes without splitting a UTF-8 sequence.
std::string
bounded(std::string_view text, std::size_t max)
{
  if (text.size() <= max) {
    return std::string(text);
  }
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
  }
  return std::string(text.substr(0, end));
}

// Accepts "1", "1.0", "1.4": the major part must be 1 (PEP 629: a client must refuse a major
// version it does not know).
bool
is_api_version_1(std::string_view version)
{
  const auto dot = version.find('.');
  const auto major = version.substr(0, dot);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(major.data(), major.data() + major.size(), value);
  return ec == std::errc{} && end == major.data() + major.size() && !major.empty()
         && value == 1;
}

std::string_view
sv(const boost::json::string& s)
{
  return {s.data(), s.size()};
}

// Everything about one file entry, in either format, before the checks common to both.
struct Candidate
{
  std::string filename;
  std::string url; // absolute, fragment removed
  Sha256 sha256;
  std::uint64_t size = 0;
  std::optional<Time> upload_time;
  std::string requires_python;
  std::optional<std::string> yanked;
  std::optional<Sha256> core_metadata;
  std::optional<std::string> provenance_url; // PEP 740; "" = listed as null
};

struct ResolvedUrl
{
  std::string url;      // without the fragment
  std::string fragment; // decoded, empty when none
};

// Collects accepted files and notes skipped ones; the checks both formats share live here.
class PageBuilder
{
public:
  PageBuilder(const boost::urls::url_view& base, std::string_view project)
    : m_base(base), m_project(project)
  {
  }

  // Resolves `ref` against the page URL; only absolute http(s) URLs with a host are accepted.
  Expected<ResolvedUrl> resolve(std::string_view ref) const
  {
    if (ref.size() > k_max_url) {
      return make_unexpected(fmt::format("URL longer than {} bytes", k_max_url));
    }
    const auto parsed = boost::urls::parse_uri_reference(ref);
    if (!parsed) {
      return make_unexpected(fmt::format("invalid URL \"{}\"", printable(ref)));
    }
    boost::urls::url resolved;
    if (!boost::urls::resolve(m_base, *parsed, resolved)) {
      return make_unexpected(fmt::format("unresolvable URL \"{}\"", printable(ref)));
    }
    const auto scheme = resolved.scheme_id();
    if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https) {
      return make_unexpected(fmt::format("URL scheme is not http(s): \"{}\"", printable(ref)));
    }
    if (resolved.encoded_host().empty()) {
      return make_unexpected(fmt::format("URL has no host: \"{}\"", printable(ref)));
    }
    ResolvedUrl out;
    if (resolved.has_fragment()) {
      out.fragment = resolved.fragment();
      resolved.remove_fragment();
    }
    out.url = std::string(resolved.buffer());
    return out;
  }

  void skip(std::string_view filename, std::string_view reason)
  {
    m_page.skipped.push_back(fmt::format("\"{}\": {}", printable(filename), reason));
  }

  void skip_entry(std::size_t index, std::string_view reason)
  {
    m_page.skipped.push_back(fmt::format("file #{}: {}", index, reason));
  }

  // Runs the checks on what a file is called and how big it is, then keeps it.
  void add(Candidate&& file)
  {
    if (!policy::is_safe_filename(file.filename)) {
      skip(file.filename, "unsafe filename");
      return;
    }
    if (file.size > k_max_file_size) {
      skip(file.filename, fmt::format("declared size {} is over 1 TiB", file.size));
      return;
    }
    std::string version;
    const auto parsed = policy::parse_filename(file.filename, m_project);
    if (file.filename.ends_with(".whl")) {
      // A wheel names its project unambiguously; one listed under another project is either
      // junk or an attempt to slip a file into the wrong name.
      if (!parsed) {
        skip(file.filename, "unparseable wheel filename");
        return;
      }
      if (parsed->project != m_project) {
        skip(file.filename, fmt::format("wheel is for project \"{}\"", parsed->project));
        return;
      }
    }
    // Legacy sdists, eggs and installers are often named oddly; they stay listed without a
    // version rather than vanish.
    if (parsed) {
      version = parsed->version;
    }
    if (!m_seen.insert(file.filename).second) {
      skip(file.filename, "duplicate filename; the first entry is kept");
      return;
    }
    storage::FileRecord record;
    record.project = std::string(m_project);
    record.filename = std::move(file.filename);
    record.version = std::move(version);
    record.sha256 = file.sha256;
    record.size = file.size;
    record.upload_time = file.upload_time;
    record.requires_python = std::move(file.requires_python);
    record.yanked = std::move(file.yanked);
    record.core_metadata = file.core_metadata;
    record.url = std::move(file.url);
    record.provenance_url = std::move(file.provenance_url);
    m_page.files.push_back(std::move(record));
  }

  UpstreamPage& page() { return m_page; }

private:
  const boost::urls::url_view& m_base;
  std::string_view m_project;
  std::unordered_set<std::string> m_seen;
  UpstreamPage m_page;
};

Expected<boost::urls::url_view>
parse_page_url(std::string_view page_url)
{
  auto parsed = boost::urls::parse_uri(page_url);
  if (!parsed) {
    return make_unexpected(fmt::format("page URL \"{}\" is not absolute", printable(page_url)));
  }
  return *parsed;
}

Expected<void>
check_body_size(std::string_view body)
{
  if (body.size() > k_max_upstream_page) {
    return make_unexpected(fmt::format(
      "page is {} bytes, over the limit of {}", body.size(), k_max_upstream_page));
  }
  return {};
}

// ---- PEP 691 JSON ----------------------------------------------------------------------------

// PEP 714: only a declared hash lets Airlock verify (and so serve) the metadata file; `true`, a
// dict without a usable sha256, or anything else means "none Airlock can use".
std::optional<Sha256>
json_core_metadata(const boost::json::object& entry)
{
  for (const auto* key : {"core-metadata", "data-dist-info-metadata", "dist-info-metadata"}) {
    const auto* value = entry.if_contains(key);
    if (value == nullptr || value->is_null()) {
      continue;
    }
    const auto* dict = value->if_object();
    if (dict == nullptr) {
      return std::nullopt;
    }
    const auto* hash = dict->if_contains("sha256");
    if (hash == nullptr || !hash->is_string()) {
      return std::nullopt;
    }
    return Sha256::from_hex(sv(hash->get_string()));
  }
  return std::nullopt;
}

// Fills `out` from a JSON file entry; returns why the entry is unusable. A field that is present
// with the wrong type makes the whole entry suspect, so it is skipped rather than half-read;
// JSON null counts as absent, as PyPI writes "requires-python": null.
std::optional<std::string>
read_json_file(const boost::json::object& entry, const PageBuilder& builder, Candidate& out)
{
  const auto* url = entry.if_contains("url");
  if (url == nullptr || !url->is_string()) {
    return "\"url\" missing or not a string";
  }
  auto resolved = builder.resolve(sv(url->get_string()));
  if (!resolved) {
    return resolved.error();
  }
  out.url = std::move(resolved->url);

  const auto* hashes = entry.if_contains("hashes");
  if (hashes == nullptr || !hashes->is_object()) {
    return "\"hashes\" missing or not an object";
  }
  const auto* sha256 = hashes->get_object().if_contains("sha256");
  if (sha256 == nullptr) {
    return "no sha256 hash";
  }
  const auto digest =
    sha256->is_string() ? Sha256::from_hex(sv(sha256->get_string())) : std::nullopt;
  if (!digest) {
    return "invalid sha256 hash";
  }
  out.sha256 = *digest;

  if (const auto* size = entry.if_contains("size"); size != nullptr && !size->is_null()) {
    if (size->is_uint64()) {
      out.size = size->get_uint64();
    } else if (size->is_int64() && size->get_int64() >= 0) {
      out.size = static_cast<std::uint64_t>(size->get_int64());
    } else {
      return "\"size\" is not a non-negative integer";
    }
  }

  if (const auto* time = entry.if_contains("upload-time"); time != nullptr && !time->is_null()) {
    out.upload_time = time->is_string() ? parse_rfc3339(sv(time->get_string())) : std::nullopt;
    if (!out.upload_time) {
      return "\"upload-time\" is not an RFC 3339 time";
    }
  }

  if (const auto* rp = entry.if_contains("requires-python"); rp != nullptr && !rp->is_null()) {
    // The limit applies to the cleaned text too (which only grows), as Airlock serves that.
    if (!rp->is_string() || rp->get_string().size() > k_max_requires_python) {
      return "\"requires-python\" is not a string of at most 1024 bytes";
    }
    out.requires_python = clean_text(sv(rp->get_string()));
    if (out.requires_python.size() > k_max_requires_python) {
      return "\"requires-python\" is not a string of at most 1024 bytes";
    }
  }

  if (const auto* yanked = entry.if_contains("yanked"); yanked != nullptr && !yanked->is_null()) {
    if (yanked->is_bool()) {
      if (yanked->get_bool()) {
        out.yanked = std::string();
      }
    } else if (yanked->is_string()) {
      out.yanked = bounded(clean_text(sv(yanked->get_string())), k_max_reason);
    } else {
      return "\"yanked\" is neither a boolean nor a string";
    }
  }

  out.core_metadata = json_core_metadata(entry);

  // PEP 740: the URL of the file's provenance, or null for none (unlike the fields above,
  // null here says something: there is no provenance to look for).
  if (const auto* provenance = entry.if_contains("provenance"); provenance != nullptr) {
    if (provenance->is_null()) {
      out.provenance_url = std::string();
    } else if (provenance->is_string()) {
      auto resolved_provenance = builder.resolve(sv(provenance->get_string()));
      if (!resolved_provenance) {
        return "\"provenance\": " + resolved_provenance.error();
      }
      out.provenance_url = std::move(resolved_provenance->url);
    } else {
      return "\"provenance\" is neither a URL nor null";
    }
  }
  return std::nullopt;
}

void
read_json_status(const boost::json::object& root, UpstreamPage& page)
{
  // PEP 792 puts "project-status" at the top level of the project page. It is advisory, so a
  // malformed one is ignored rather than failing the page.
  const auto* status = root.if_contains("project-status");
  if (status == nullptr || !status->is_object()) {
    return;
  }
  const auto& dict = status->get_object();
  const auto* value = dict.if_contains("status");
  if (value == nullptr || !value->is_string()) {
    return;
  }
  page.status = bounded(clean_text(sv(value->get_string())), k_max_reason);
  if (const auto* reason = dict.if_contains("reason"); reason != nullptr && reason->is_string()) {
    page.status_reason = bounded(clean_text(sv(reason->get_string())), k_max_reason);
  }
}

// ---- PEP 503 HTML ----------------------------------------------------------------------------

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
parse_json_page(std::string_view body, std::string_view page_url, std::string_view project)
{
  if (auto ok = check_body_size(body); !ok) {
    return make_unexpected(ok.error());
  }
  const auto base = parse_page_url(page_url);
  if (!base) {
    return make_unexpected(base.error());
  }

  boost::json::parse_options options;
  options.max_depth = k_max_json_depth;
  boost::json::monotonic_resource resource;
  boost::system::error_code ec;
  const auto document = boost::json::parse(body, ec, &resource, options);
  if (ec) {
    return make_unexpected(fmt::format("not JSON: {}", ec.message()));
  }
  const auto* root = document.if_object();
  if (root == nullptr) {
    return make_unexpected("JSON page is not an object");
  }
  const auto* meta = root->if_contains("meta");
  const auto* api_version =
    meta != nullptr && meta->is_object() ? meta->get_object().if_contains("api-version") : nullptr;
  if (api_version == nullptr || !api_version->is_string()) {
    return make_unexpected("JSON page has no meta.api-version string");
  }
  if (!is_api_version_1(sv(api_version->get_string()))) {
    return make_unexpected(fmt::format("unsupported api-version \"{}\"",
                                       printable(sv(api_version->get_string()))));
  }
  if (const auto* name = root->if_contains("name"); name != nullptr) {
    if (!name->is_string() || policy::normalize_project_name(sv(name->get_string())) != project) {
      return make_unexpected(fmt::format("JSON page is not for project \"{}\"", project));
    }
  }
  const auto* files = root->if_contains("files");
  if (files == nullptr || !files->is_array()) {
    return make_unexpected("JSON page has no \"files\" array");
  }
  const auto& entries = files->get_array();
  if (entries.size() > k_max_files_per_page) {
    return make_unexpected(fmt::format(
      "page lists {} files, over the limit of {}", entries.size(), k_max_files_per_page));
  }

  PageBuilder builder(*base, project);
  builder.page().files.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto* entry = entries[i].if_object();
    if (entry == nullptr) {
      builder.skip_entry(i, "not an object");
      continue;
    }
    const auto* filename = entry->if_contains("filename");
    if (filename == nullptr || !filename->is_string()) {
      builder.skip_entry(i, "\"filename\" missing or not a string");
      continue;
    }
    Candidate candidate;
    candidate.filename = std::string(sv(filename->get_string()));
    if (auto why = read_json_file(*entry, builder, candidate)) {
      builder.skip(candidate.filename, *why);
      continue;
    }
    builder.add(std::move(candidate));
  }
  read_json_status(*root, builder.page());
  return std::move(builder.page());
}

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
