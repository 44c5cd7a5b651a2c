#pragma once

// Project names and distribution filenames: PEP 503 normalization, wheel and sdist filename
// parsing, and the filenames Airlock will store and serve.

#include <optional>
#include <string>
#include <string_view>

namespace airlock::policy {

// PEP 503 normalization: lowercase, runs of '-', '_', '.' become one '-'.
std::string normalize_project_name(std::string_view name);
// True when `name` is a plausible project name (PEP 508: letters, digits, '-', '_', '.',
// starting and ending with a letter or digit, at most 200 characters).
bool is_valid_project_name(std::string_view name);

enum class DistributionKind { wheel, sdist };

// A distribution filename taken apart.
struct ParsedFilename
{
  DistributionKind kind = DistributionKind::sdist;
  std::string project; // normalized
  std::string version; // as written in the filename
};

// Parses wheel (PEP 427/491: name-ver(-build)?-py-abi-plat.whl) and sdist (name-ver.tar.gz,
// .zip, .tar.bz2, .tar.xz, .tgz, .tar) filenames. For sdists, where the name itself may contain
// '-', `expected_project` (normalized) disambiguates. nullopt when it cannot be parsed.
std::optional<ParsedFilename> parse_filename(std::string_view filename,
                                             std::string_view expected_project = {});

// True when a filename is safe to store and serve: 1-255 bytes of printable ASCII, not "." or
// "..", no space, '/', '\\', and none of "#%<>?[]^`{|} that would need escaping in a URL path.
bool is_safe_filename(std::string_view filename);

} // namespace airlock::policy
