// Rendering the Simple API Airlock serves: PEP 503 HTML and PEP 691 JSON of the approved
// files, with hashes, metadata, yanks, provenance URLs and what is withheld.
#include "pages/simple_render.hpp"

#include <airlock/util/hex.hpp>

#include <airlock/util/utf8.hpp>

#include <airlock/policy/version.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <span>
#include <tuple>
#include <optional>
#include <vector>

// Rendering is on the hot path of every page-cache miss, so everything is appended into one
// reserved string by hand; no DOM, no streams, no per-field formatting allocations.
namespace airlock::proxy {

namespace {

// Per-byte "copy as is" tables: the scanners below test one table entry per byte, which is what
// keeps a 2000-file page well under a millisecond.
using ByteTable = std::array<bool, 256>;

constexpr ByteTable
make_table(bool (*plain)(unsigned char))
{
  ByteTable table{};
  for (unsigned c = 0; c < 256; ++c) {
    table[c] = plain(static_cast<unsigned char>(c));
  }
  return table;
}

constexpr ByteTable k_html_plain = make_table([](unsigned char c) {
  return c >= 0x20 && c < 0x7f && c != '&' && c != '<' && c != '>' && c != '"' && c != '\'';
});
constexpr ByteTable k_json_plain =
  make_table([](unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; });
// RFC 3986 pchar minus pct-encoded: unreserved, sub-delims, ':' and '@'.
constexpr ByteTable k_path_plain = make_table([](unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
         || std::string_view("-._~!$&'()*+,;=:@").find(static_cast<char>(c))
              != std::string_view::npos;
});

// Appends non-ASCII text starting at text[pos]: a valid sequence as is, otherwise U+FFFD for
// one byte, so the output is always valid UTF-8. Returns the bytes consumed.
std::size_t
append_non_ascii(std::string& out, std::string_view text, std::size_t pos)
{
  const auto length = utf8_sequence_length(text, pos);
  if (length == 0) {
    out.append(k_replacement_character);
    return 1;
  }
  out.append(text.substr(pos, length));
  return length;
}

// Copies `text`: runs of bytes `plain` allows as they are, valid UTF-8 through (invalid bytes
// become U+FFFD), and every other ASCII byte as `escape` writes it. The scan that HTML and
// JSON share; only their escapes differ.
template<typename Escape>
void
append_escaped(std::string& out, std::string_view text, const ByteTable& plain, Escape escape)
{
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t run = pos;
    while (run < text.size() && plain[static_cast<unsigned char>(text[run])]) {
      ++run;
    }
    out.append(text.substr(pos, run - pos));
    pos = run;
    if (pos == text.size()) {
      break;
    }
    const auto c = static_cast<unsigned char>(text[pos]);
    if (c >= 0x80) {
      pos += append_non_ascii(out, text, pos);
      continue;
    }
    escape(c);
    ++pos;
  }
}

// For attribute values and text: the five characters that can end an attribute or start
// markup are escaped, C0 controls (which HTML forbids) become U+FFFD.
void
append_html(std::string& out, std::string_view text)
{
  append_escaped(out, text, k_html_plain, [&](unsigned char c) {
    switch (c) {
    case '&':
      out.append("&amp;");
      break;
    case '<':
      out.append("&lt;");
      break;
    case '>':
      out.append("&gt;");
      break;
    case '"':
      out.append("&quot;");
      break;
    case '\'':
      out.append("&#39;");
      break;
    case '\t':
    case '\n':
    case '\r':
    case 0x7f:
      out.push_back(static_cast<char>(c));
      break;
    default:
      out.append(k_replacement_character);
      break;
    }
  });
}

// A JSON string literal: quote, backslash and controls escaped, valid UTF-8 passed through,
// invalid bytes replaced by U+FFFD (a JSON text must be valid Unicode).
void
append_json_string(std::string& out, std::string_view text)
{
  static constexpr char k_hex[] = "0123456789abcdef";
  out.push_back('"');
  append_escaped(out, text, k_json_plain, [&](unsigned char c) {
    switch (c) {
    case '"':
      out.append("\\\"");
      break;
    case '\\':
      out.append("\\\\");
      break;
    case '\n':
      out.append("\\n");
      break;
    case '\r':
      out.append("\\r");
      break;
    case '\t':
      out.append("\\t");
      break;
    case '\b':
      out.append("\\b");
      break;
    case '\f':
      out.append("\\f");
      break;
    default:
      out.append("\\u00");
      out.push_back(k_hex[c >> 4]);
      out.push_back(k_hex[c & 0xF]);
      break;
    }
  });
  out.push_back('"');
}

void
append_number(std::string& out, std::uint64_t value)
{
  char buffer[20];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, static_cast<std::size_t>(end - buffer));
}

// format_rfc3339 without its formatting call and allocation, which were a third of the time of
// a 2000-file JSON page. Years outside 0000-9999 take the general path.
void
append_rfc3339(std::string& out, Time t)
{
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{t - day};
  const int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {
    out.append(format_rfc3339(t));
    return;
  }
  char text[] = "0000-00-00T00:00:00Z";
  const auto put = [&text](std::size_t pos, unsigned value, std::size_t width) {
    for (std::size_t i = width; i > 0; --i) {
      text[pos + i - 1] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(0, static_cast<unsigned>(year), 4);
  put(5, static_cast<unsigned>(ymd.month()), 2);
  put(8, static_cast<unsigned>(ymd.day()), 2);
  put(11, static_cast<unsigned>(hms.hours().count()), 2);
  put(14, static_cast<unsigned>(hms.minutes().count()), 2);
  put(17, static_cast<unsigned>(hms.seconds().count()), 2);
  out.append(text, sizeof(text) - 1);
}

// Filenames were checked on the way in (policy::is_safe_filename), so this is the identity
// for every stored name; it only keeps a bad record from producing a broken or misleading URL.
void
append_path_segment(std::string& out, std::string_view segment)
{
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::size_t pos = 0;
  while (pos < segment.size()) {
    std::size_t run = pos;
    while (run < segment.size() && k_path_plain[static_cast<unsigned char>(segment[run])]) {
      ++run;
    }
    out.append(segment.substr(pos, run - pos));
    pos = run;
    if (pos < segment.size()) {
      const auto c = static_cast<unsigned char>(segment[pos++]);
      out.push_back('%');
      out.push_back(k_hex[c >> 4]);
      out.push_back(k_hex[c & 0xF]);
    }
  }
}

// The URL Airlock serves a file under, relative to the page: prefix + sha256 + "/" + filename,
// built in `url` (reused across files to save an allocation each). The caller escapes it.
const std::string&
file_url(const ProjectPage& page, const storage::FileRecord& file, std::string& url)
{
  url.clear();
  url.append(page.file_url_prefix);
  url += to_hex(file.sha256.bytes);
  url.push_back('/');
  append_path_segment(url, file.filename);
  return url;
}

// ---- versions --------------------------------------------------------------------------------

// The distinct versions of the files in PEP 440 order (policy::Version, the one PEP 440
// implementation); strings that are not PEP 440 sort first, among themselves as strings.
std::vector<std::string_view>
sorted_versions(std::span<const storage::FileRecord> files)
{
  std::vector<std::pair<std::optional<policy::Version>, std::string_view>> keyed;
  keyed.reserve(files.size());
  for (const auto& file : files) {
    if (!file.version.empty()) {
      keyed.emplace_back(policy::Version::parse(file.version), file.version);
    }
  }
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    if (a.first.has_value() != b.first.has_value()) {
      return !a.first.has_value();
    }
    if (a.first && *a.first != *b.first) {
      return *a.first < *b.first;
    }
    // Equal under PEP 440 ("1.0" and "1.0.0"): the strings keep the output deterministic.
    return a.second < b.second;
  });
  std::vector<std::string_view> out;
  out.reserve(keyed.size());
  for (const auto& [key, version] : keyed) {
    if (out.empty() || out.back() != version) {
      out.push_back(version);
    }
  }
  return out;
}

constexpr std::string_view k_html_head =
  "<!DOCTYPE html>\n<html>\n  <head>\n"
  "    <meta name=\"pypi:repository-version\" content=\"1.1\">\n";

std::size_t
estimate_size(const ProjectPage& page, std::size_t per_file)
{
  std::size_t bytes = 512 + 2 * page.name.size() + page.status.size() + page.status_reason.size();
  for (const auto& file : page.files) {
    bytes += per_file + 2 * file.filename.size() + page.file_url_prefix.size()
             + file.requires_python.size() + file.version.size()
             + (file.yanked ? file.yanked->size() : 0);
  }
  return bytes;
}

} // namespace

std::string
render_project_html(const ProjectPage& page)
{
  std::string out;
  out.reserve(estimate_size(page, 420));
  out.append(k_html_head);
  if (!page.status.empty()) {
    out.append("    <meta name=\"pypi:project-status\" content=\"");
    append_html(out, page.status);
    out.append("\">\n");
    if (!page.status_reason.empty()) {
      out.append("    <meta name=\"pypi:project-status-reason\" content=\"");
      append_html(out, page.status_reason);
      out.append("\">\n");
    }
  }
  out.append("    <title>Links for ");
  append_html(out, page.name);
  out.append("</title>\n  </head>\n  <body>\n    <h1>Links for ");
  append_html(out, page.name);
  out.append("</h1>\n");
  std::string url;
  for (const auto& file : page.files) {
    out.append("    <a href=\"");
    append_html(out, file_url(page, file, url));
    out.append("#sha256=");
    out += to_hex(file.sha256.bytes);
    out.push_back('"');
    if (!file.requires_python.empty()) {
      out.append(" data-requires-python=\"");
      append_html(out, file.requires_python);
      out.push_back('"');
    }
    if (file.yanked) {
      out.append(" data-yanked=\"");
      append_html(out, *file.yanked);
      out.push_back('"');
    }
    if (file.core_metadata) {
      out.append(" data-core-metadata=\"sha256=");
      out += to_hex(file.core_metadata->bytes);
      out.append("\" data-dist-info-metadata=\"sha256=");
      out += to_hex(file.core_metadata->bytes);
      out.push_back('"');
    }
    out.push_back('>');
    append_html(out, file.filename);
    out.append("</a><br>\n");
  }
  out.append("  </body>\n</html>\n");
  return out;
}

std::string
render_project_json(const ProjectPage& page)
{
  std::string out;
  out.reserve(estimate_size(page, 400));
  out.append("{\"meta\":{\"api-version\":\"1.1\"},\"name\":");
  append_json_string(out, page.name);
  out.append(",\"files\":[");
  bool first = true;
  std::string url;
  for (std::size_t index = 0; index < page.files.size(); ++index) {
    const auto& file = page.files[index];
    out.append(first ? "{\"filename\":" : ",{\"filename\":");
    first = false;
    append_json_string(out, file.filename);
    out.append(",\"url\":");
    append_json_string(out, file_url(page, file, url));
    out.append(",\"hashes\":{\"sha256\":\"");
    out += to_hex(file.sha256.bytes);
    out.append("\"}");
    if (!file.requires_python.empty()) {
      out.append(",\"requires-python\":");
      append_json_string(out, file.requires_python);
    }
    // PEP 700 makes size mandatory, but 0 means Airlock was never told: a made-up 0 would be a
    // lie a client could act on, so an unknown size is left out.
    if (file.size != 0) {
      out.append(",\"size\":");
      append_number(out, file.size);
    }
    if (file.upload_time) {
      out.append(",\"upload-time\":\"");
      append_rfc3339(out, *file.upload_time);
      out.push_back('"');
    }
    out.append(",\"yanked\":");
    if (!file.yanked) {
      out.append("false");
    } else if (file.yanked->empty()) {
      out.append("true");
    } else {
      append_json_string(out, *file.yanked);
    }
    if (file.core_metadata) {
      out.append(",\"core-metadata\":{\"sha256\":\"");
      out += to_hex(file.core_metadata->bytes);
      out.append("\"},\"data-dist-info-metadata\":{\"sha256\":\"");
      out += to_hex(file.core_metadata->bytes);
      out.append("\"}");
    }
    if (index < page.provenance_urls.size() && !page.provenance_urls[index].empty()) {
      out.append(",\"provenance\":");
      append_json_string(out, page.provenance_urls[index]);
    }
    out.push_back('}');
  }
  out.append("],\"versions\":[");
  first = true;
  for (const auto version : sorted_versions(page.files)) {
    if (!first) {
      out.push_back(',');
    }
    first = false;
    append_json_string(out, version);
  }
  out.push_back(']');
  if (!page.status.empty()) {
    out.append(",\"project-status\":{\"status\":");
    append_json_string(out, page.status);
    if (!page.status_reason.empty()) {
      out.append(",\"reason\":");
      append_json_string(out, page.status_reason);
    }
    out.push_back('}');
  }
  out.append(",\"_airlock\":{\"withheld\":");
  append_number(out, page.withheld);
  out.append(",\"next_available\":");
  if (page.next_available) {
    out.push_back('"');
    out.append(format_rfc3339(*page.next_available));
    out.push_back('"');
  } else {
    out.append("null");
  }
  out.append("}}");
  return out;
}

std::string
render_index_html(std::span<const std::string> names)
{
  std::string out;
  std::size_t bytes = 256;
  for (const auto& name : names) {
    bytes += 32 + 2 * name.size();
  }
  out.reserve(bytes);
  out.append(k_html_head);
  out.append("    <title>Simple index</title>\n  </head>\n  <body>\n");
  for (const auto& name : names) {
    // Normalized names need no escaping at all; a stray one is percent-encoded, and '&' or '\''
    // (legal in a path) are escaped for the attribute.
    std::string href;
    append_path_segment(href, name);
    out.append("    <a href=\"");
    append_html(out, href);
    out.append("/\">");
    append_html(out, name);
    out.append("</a><br>\n");
  }
  out.append("  </body>\n</html>\n");
  return out;
}

std::string
render_index_json(std::span<const std::string> names)
{
  std::string out;
  std::size_t bytes = 64;
  for (const auto& name : names) {
    bytes += 14 + name.size();
  }
  out.reserve(bytes);
  out.append("{\"meta\":{\"api-version\":\"1.1\"},\"projects\":[");
  bool first = true;
  for (const auto& name : names) {
    out.append(first ? "{\"name\":" : ",{\"name\":");
    first = false;
    append_json_string(out, name);
    out.push_back('}');
  }
  out.append("]}");
  return out;
}

} // namespace airlock::proxy
