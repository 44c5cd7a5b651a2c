#pragma once

// Private to proxy/upstream: what the JSON and HTML page parsers share: the checks every file
// entry passes, the page under construction, and the small text helpers both formats need.

#include "upstream/simple_parse.hpp"

#include <boost/url/url_view.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace airlock::proxy::page {

inline constexpr std::uint64_t k_max_file_size = std::uint64_t{1} << 40; // 1 TiB
inline constexpr std::size_t k_max_url = 8192;
inline constexpr std::size_t k_max_requires_python = 1024;
inline constexpr std::size_t k_max_reason = 1024;
inline constexpr std::size_t k_max_logged_name = 120;

bool is_ascii_space(char c);
char to_lower(char c);
// ASCII case-insensitive equality.
bool iequals(std::string_view a, std::string_view b);
std::string_view trim(std::string_view text);
// Upstream names end up in log lines: kept printable and short, so a hostile filename cannot
// forge or flood log entries.
std::string printable(std::string_view text);
// Cuts at most `max` bytes without splitting a UTF-8 sequence.
std::string bounded(std::string_view text, std::size_t max);
// Accepts "1", "1.0", "1.4": the major part must be 1 (PEP 629).
bool is_api_version_1(std::string_view version);

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
  Expected<ResolvedUrl> resolve(std::string_view ref) const;
  void skip(std::string_view filename, std::string_view reason);
  void skip_entry(std::size_t index, std::string_view reason);
  // Runs the checks on what a file is called and how big it is, then keeps it.
  void add(Candidate&& file);

  UpstreamPage& page() { return m_page; }

private:
  const boost::urls::url_view& m_base;
  std::string_view m_project;
  std::unordered_set<std::string> m_seen;
  UpstreamPage m_page;
};

// The page URL files resolve against; an error when it is not absolute.
Expected<boost::urls::url_view> parse_page_url(std::string_view page_url);
// An error when the body is over k_max_upstream_page.
Expected<void> check_body_size(std::string_view body);

} // namespace airlock::proxy::page
