// The checks a file entry passes in either page format, and the text helpers both parsers use.
// Upstream is untrusted: every field is bounded, every name checked, every skip noted.
#include "upstream/page_builder.hpp"

#include <airlock/policy/filename.hpp>

#include <boost/url.hpp>
#include <fmt/core.h>

#include <charconv>

namespace airlock::proxy::page {

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

Expected<ResolvedUrl>
PageBuilder::resolve(std::string_view ref) const
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

void
PageBuilder::skip(std::string_view filename, std::string_view reason)
{
  m_page.skipped.push_back(fmt::format("\"{}\": {}", printable(filename), reason));
}

void
PageBuilder::skip_entry(std::size_t index, std::string_view reason)
{
  m_page.skipped.push_back(fmt::format("file #{}: {}", index, reason));
}

void
PageBuilder::add(Candidate&& file)
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

} // namespace airlock::proxy::page
