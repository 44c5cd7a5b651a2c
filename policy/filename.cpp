// Project names and distribution filenames: PEP 503 normalization, wheel and sdist filename
// parsing, and which filenames are safe to store and serve.

#include <airlock/policy/filename.hpp>
#include <airlock/policy/policy.hpp>
#include <airlock/util/text.hpp>

#include "ascii.hpp"

#include <array>
#include <vector>

namespace airlock::policy {

namespace {

constexpr std::size_t k_max_project_name = 200;
constexpr std::size_t k_max_filename = 255;

using ascii::is_alnum;
using ascii::is_digit;
using ascii::is_separator;
using ascii::to_lower;

// A PEP 440 version starts with a digit, after an optional 'v'. Requiring that is what lets a
// project-name prefix such as "foo" not swallow the sdist "foo-bar-1.0.tar.gz" as version
// "bar-1.0", and it rejects junk like "-1.0" or "".
bool
is_plausible_version(std::string_view version, bool allow_dash)
{
  if (version.empty()) {
    return false;
  }
  const std::string_view digits_first =
    (version[0] == 'v' || version[0] == 'V') ? version.substr(1) : version;
  if (digits_first.empty() || !is_digit(digits_first[0])) {
    return false;
  }
  for (const char c : version) {
    const bool ok = is_alnum(c) || c == '.' || c == '!' || c == '+' || c == '_'
                    || (allow_dash && c == '-');
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Wheel tags (python, abi, platform; compressed sets joined by '.') and build tags.
bool
is_plausible_tag(std::string_view tag)
{
  if (tag.empty()) {
    return false;
  }
  for (const char c : tag) {
    if (!is_alnum(c) && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

std::vector<std::string_view>
split(std::string_view text, char separator)
{
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const auto pos = text.find(separator, start);
    if (pos == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, pos - start));
    start = pos + 1;
  }
}

std::optional<ParsedFilename>
parse_wheel(std::string_view stem)
{
  // name-version(-build)?-python-abi-platform; '-' never occurs inside a component because
  // PEP 427 escapes it to '_'.
  const auto parts = split(stem, '-');
  if (parts.size() != 5 && parts.size() != 6) {
    return std::nullopt;
  }
  if (!is_valid_project_name(parts[0]) || !is_plausible_version(parts[1], false)) {
    return std::nullopt;
  }
  if (parts.size() == 6 && (!is_plausible_tag(parts[2]) || !is_digit(parts[2][0]))) {
    return std::nullopt;
  }
  for (std::size_t i = parts.size() - 3; i < parts.size(); ++i) {
    if (!is_plausible_tag(parts[i])) {
      return std::nullopt;
    }
  }
  return ParsedFilename{DistributionKind::wheel,
                        normalize_project_name(parts[0]),
                        std::string(parts[1])};
}

std::optional<ParsedFilename>
parse_sdist(std::string_view stem, std::string_view expected_project)
{
  if (!expected_project.empty()) {
    // The first '-' whose prefix normalizes to the expected project splits name from version;
    // later ones belong to the version ("foo-1.0-r1") in legacy filenames.
    for (std::size_t pos = stem.find('-'); pos != std::string_view::npos;
         pos = stem.find('-', pos + 1)) {
      const auto name = stem.substr(0, pos);
      const auto version = stem.substr(pos + 1);
      if (is_valid_project_name(name) && normalize_project_name(name) == expected_project
          && is_plausible_version(version, true)) {
        return ParsedFilename{DistributionKind::sdist,
                              std::string(expected_project),
                              std::string(version)};
      }
    }
    return std::nullopt;
  }
  // Without a hint, the version starts after the last '-' that is followed by a digit.
  for (std::size_t pos = stem.rfind('-'); pos != std::string_view::npos && pos > 0;
       pos = stem.rfind('-', pos - 1)) {
    if (pos + 1 < stem.size() && is_digit(stem[pos + 1])) {
      const auto name = stem.substr(0, pos);
      const auto version = stem.substr(pos + 1);
      if (!is_valid_project_name(name) || !is_plausible_version(version, true)) {
        return std::nullopt;
      }
      return ParsedFilename{
        DistributionKind::sdist, normalize_project_name(name), std::string(version)};
    }
  }
  return std::nullopt;
}

} // namespace

std::string
normalize_project_name(std::string_view name)
{
  std::string out;
  out.reserve(name.size());
  bool in_separator_run = false;
  for (const char c : name) {
    if (is_separator(c)) {
      if (!in_separator_run) {
        out.push_back('-');
      }
      in_separator_run = true;
    } else {
      out.push_back(to_lower(c));
      in_separator_run = false;
    }
  }
  return out;
}

bool
is_valid_project_name(std::string_view name)
{
  if (name.empty() || name.size() > k_max_project_name) {
    return false;
  }
  if (!is_alnum(name.front()) || !is_alnum(name.back())) {
    return false;
  }
  for (const char c : name) {
    if (!is_alnum(c) && !is_separator(c)) {
      return false;
    }
  }
  return true;
}

std::optional<ParsedFilename>
parse_filename(std::string_view filename, std::string_view expected_project)
{
  if (!is_safe_filename(filename)) {
    return std::nullopt;
  }
  if (filename.ends_with(".whl")) {
    return parse_wheel(filename.substr(0, filename.size() - 4));
  }
  // Longest suffixes first, so ".tar.gz" is not taken for ".tar"-less ".gz".
  static constexpr std::array<std::string_view, 6> k_sdist_suffixes = {
    ".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar"};
  for (const auto suffix : k_sdist_suffixes) {
    if (filename.ends_with(suffix)) {
      return parse_sdist(filename.substr(0, filename.size() - suffix.size()), expected_project);
    }
  }
  return std::nullopt;
}

bool
is_safe_filename(std::string_view filename)
{
  if (filename.empty() || filename.size() > k_max_filename || filename == "."
      || filename == "..") {
    return false;
  }
  for (const char c : filename) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) {
      return false; // controls, space, DEL and anything non-ASCII
    }
    switch (c) {
    // Path separators, and the characters that would need percent-encoding in the URL path
    // segment Airlock serves the file under (/files/<sha256>/<filename>), so the name appears
    // verbatim in every URL and on disk with no decoding ambiguity.
    case '/':
    case '\\':
    case '"':
    case '#':
    case '%':
    case '<':
    case '>':
    case '?':
    case '[':
    case ']':
    case '^':
    case '`':
    case '{':
    case '|':
    case '}':
      return false;
    default:
      break;
    }
  }
  return true;
}

std::string
url_host(std::string_view url)
{
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) {
    return {};
  }
  auto authority = url.substr(scheme + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    return close == std::string_view::npos ? std::string() : lowercase(authority.substr(1, close - 1));
  }
  return lowercase(authority.substr(0, authority.find(':')));
}

} // namespace airlock::policy
