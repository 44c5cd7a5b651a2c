// The wheel rules: where pip installs each entry, which files run at every Python start (.pth
// files with an import line, sitecustomize and usercustomize), and what changed since the last release.

#include <airlock/policy/wheel.hpp>

#include <airlock/util/sha256.hpp>

#include <algorithm>
#include <functional>
#include <array>
#include <optional>
#include <set>

namespace airlock::policy {

namespace {

// Where pip installs an entry, relative to site-packages; nullopt for the other schemes
// (scripts, headers, data outside a site-packages directory) and for malformed .data paths.
std::optional<std::string_view>
site_packages_path(std::string_view name)
{
  const auto slash = name.find('/');
  if (slash == std::string_view::npos || !name.substr(0, slash).ends_with(".data")) {
    return name;
  }
  // pip: every top-level *.data directory holds <scheme>/<path>.
  const std::string_view rest = name.substr(slash + 1);
  const auto scheme_end = rest.find('/');
  if (scheme_end == std::string_view::npos) {
    return std::nullopt;
  }
  const std::string_view scheme = rest.substr(0, scheme_end);
  const std::string_view path = rest.substr(scheme_end + 1);
  if (scheme == "purelib" || scheme == "platlib") {
    return path;
  }
  if (scheme != "data") {
    return std::nullopt;
  }
  // The data scheme is the environment's prefix, so data/lib/python3.12/site-packages/x.pth
  // lands in site-packages (Lib/site-packages on Windows, dist-packages on Debian). Taking the
  // last such directory errs toward finding a .pth at its root.
  std::optional<std::string_view> inside;
  std::size_t start = 0;
  while (start < path.size()) {
    const auto end = path.find('/', start);
    if (end == std::string_view::npos) {
      break;
    }
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "site-packages" || segment == "dist-packages") {
      inside = path.substr(end + 1);
    }
    start = end + 1;
  }
  return inside;
}

// site.py reads every name ending in ".pth" at the root of a site directory, case-sensitively
// and, in older Python versions, including hidden ones (".x.pth").
bool
is_root_pth(std::string_view entry_name, std::string_view installed)
{
  return !entry_name.ends_with('/') && installed.find('/') == std::string_view::npos && installed.ends_with(".pth");
}

// site.py imports the modules sitecustomize and usercustomize at every start when they are
// importable: a .py, .pyc or extension module file, or a package, at the root of site-packages.
bool
is_startup_module(std::string_view top_level)
{
  for (const std::string_view module : {std::string_view("sitecustomize"), std::string_view("usercustomize")}) {
    if (top_level.starts_with(module)
        && (top_level.size() == module.size() || top_level[module.size()] == '.')) {
      return true;
    }
  }
  return false;
}

// The startup modules whose source startup_files() offers to digest: the module's .py file or
// the package's __init__.py, at the root of site-packages. Compiled ones are digested only
// when the caller reads them anyway.
bool
is_startup_source(std::string_view installed)
{
  for (const std::string_view path : {"sitecustomize.py", "usercustomize.py", "sitecustomize/__init__.py",
                                      "usercustomize/__init__.py"}) {
    if (installed == path) {
      return true;
    }
  }
  return false;
}

// The names of the entries pip installs into site-packages for which wanted(entry name,
// installed path) holds, in archive order.
template<typename Wanted>
std::vector<std::string>
installed_entries(const std::vector<ZipEntry>& entries, Wanted wanted)
{
  std::vector<std::string> names;
  for (const ZipEntry& entry : entries) {
    const auto installed = site_packages_path(entry.name);
    if (installed && wanted(entry.name, *installed)) {
      names.push_back(entry.name);
    }
  }
  return names;
}

} // namespace

bool
pth_has_executable_lines(std::string_view content)
{
  // Newer site.py decodes with utf-8-sig; older versions kept the BOM, which hid the line.
  if (content.starts_with("\xef\xbb\xbf")) {
    content.remove_prefix(3);
  }
  // Older site.py splits lines as universal newlines do (\n, \r, \r\n); newer ones use
  // str.splitlines(), which adds \v, \f, \x1c-\x1e, U+0085, U+2028 and U+2029, and decodes
  // non-UTF-8 content with the locale encoding (a lone 0x85 is U+0085 in Latin-1). A line
  // start under any of those rules counts. '#' comments and blank lines never start with
  // "import", so they need no rule of their own.
  const auto starts_line = [&](std::size_t i) {
    if (i == 0) {
      return true;
    }
    const auto previous = static_cast<unsigned char>(content[i - 1]);
    constexpr std::array<unsigned char, 8> k_breaks{'\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85};
    if (std::find(k_breaks.begin(), k_breaks.end(), previous) != k_breaks.end()) {
      return true;
    }
    return i >= 3 && (content.substr(i - 3, 3) == "\xe2\x80\xa8" || content.substr(i - 3, 3) == "\xe2\x80\xa9");
  };
  for (std::size_t i = 0; i < content.size(); ++i) {
    if (content[i] == 'i' && starts_line(i)) {
      const std::string_view rest = content.substr(i);
      if (rest.starts_with("import ") || rest.starts_with("import\t")) {
        return true;
      }
    }
  }
  return false;
}

std::vector<std::string>
pth_files(const std::vector<ZipEntry>& entries)
{
  return installed_entries(entries, is_root_pth);
}

std::vector<std::string>
startup_files(const std::vector<ZipEntry>& entries)
{
  return installed_entries(entries, [](std::string_view entry_name, std::string_view installed) {
    return is_root_pth(entry_name, installed) || is_startup_source(installed);
  });
}

WheelSummary
summarize(const std::vector<ZipEntry>& entries, const std::map<std::string, std::string>& contents)
{
  // Digests per installed name: a name two entries install to (the root and .data/purelib)
  // has a known digest only when both agree, and a package one only from its __init__.py.
  std::map<std::string, std::vector<std::string>> executable;
  std::set<std::string> top_level;
  const auto digest_of = [&](const std::string& entry_name) -> std::string {
    const auto content = contents.find(entry_name);
    return content == contents.end() ? std::string() : Sha256::of(content->second).hex();
  };
  for (const ZipEntry& entry : entries) {
    const auto installed = site_packages_path(entry.name);
    if (!installed) {
      continue;
    }
    const std::string_view first = installed->substr(0, installed->find('/'));
    if (!first.empty() && !first.ends_with(".dist-info") && !first.ends_with(".data")) {
      top_level.emplace(first);
    }
    if (is_root_pth(entry.name, *installed)) {
      const auto content = contents.find(entry.name);
      if (content == contents.end() || pth_has_executable_lines(content->second)) {
        executable[std::string(*installed)].push_back(digest_of(entry.name));
      }
    } else if (is_startup_module(first)) {
      auto& digests = executable[std::string(first)];
      if (first == *installed || is_startup_source(*installed)) {
        digests.push_back(digest_of(entry.name));
      }
    }
  }
  WheelSummary summary;
  for (const auto& [name, digests] : executable) {
    const bool agree =
      !digests.empty() && std::adjacent_find(digests.begin(), digests.end(), std::not_equal_to<>()) == digests.end();
    summary.executable_pth.push_back(StartupFile{name, agree ? digests.front() : std::string()});
  }
  summary.top_level.assign(top_level.begin(), top_level.end());
  return summary;
}

WheelFindings
compare(const WheelSummary& current, const WheelSummary* previous)
{
  WheelFindings findings;
  if (previous == nullptr) {
    findings.new_top_level = current.top_level;
    return findings;
  }
  std::map<std::string_view, std::string_view> old_pth;
  for (const StartupFile& file : previous->executable_pth) {
    old_pth.emplace(file.name, file.sha256);
  }
  const std::set<std::string> old_top(previous->top_level.begin(), previous->top_level.end());
  for (const StartupFile& file : current.executable_pth) {
    const auto old = old_pth.find(file.name);
    if (old == old_pth.end()) {
      findings.new_executable_pth.push_back(file.name);
    } else if (file.sha256.empty() || (!old->second.empty() && old->second != file.sha256)) {
      // An old digest of "" is a baseline recorded before digests existed: only the name is known.
      findings.changed_executable_pth.push_back(file.name);
    }
  }
  for (const std::string& name : current.top_level) {
    if (!old_top.contains(name)) {
      findings.new_top_level.push_back(name);
    }
  }
  return findings;
}

} // namespace airlock::policy
