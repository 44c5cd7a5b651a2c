// TUF targets: the Target of some bytes, the consistent-snapshot path a client fetches it
// by (and back), and which target paths are allowed at all.
#include <airlock/tuf/target.hpp>

#include "metadata.hpp"

#include <fmt/format.h>

namespace airlock::tuf {

namespace {

constexpr std::size_t k_max_target_path = 1024;

} // namespace

Target
make_target(std::string path, std::string_view bytes)
{
  return Target{std::move(path), bytes.size(), Sha256::of(bytes), sha512_hex(bytes)};
}

std::string
consistent_target_path(const Target& target)
{
  const auto slash = target.path.rfind('/');
  if (slash == std::string::npos) {
    return target.sha256.hex() + "." + target.path;
  }
  return target.path.substr(0, slash + 1) + target.sha256.hex() + "." + target.path.substr(slash + 1);
}

std::optional<ConsistentTargetName>
parse_consistent_target_path(std::string_view consistent_path)
{
  const auto slash = consistent_path.rfind('/');
  const auto dir = slash == std::string_view::npos ? std::string_view() : consistent_path.substr(0, slash + 1);
  const auto base = slash == std::string_view::npos ? consistent_path : consistent_path.substr(slash + 1);
  if (base.size() < 66 || base[64] != '.' || !is_lower_hex(base.substr(0, 64), 64)) {
    return std::nullopt;
  }
  ConsistentTargetName out{std::string(dir) + std::string(base.substr(65)), *Sha256::from_hex(base.substr(0, 64))};
  if (invalid_target_path(out.path)) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::string>
invalid_target_path(std::string_view path)
{
  if (path.empty()) {
    return "is empty";
  }
  if (path.size() > k_max_target_path) {
    return fmt::format("is longer than {} bytes", k_max_target_path);
  }
  for (const char c : path) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
                    || c == '_' || c == '~' || c == '+' || c == '!' || c == '-' || c == '/';
    if (!ok) {
      return "has a character outside [A-Za-z0-9._~+!-/]";
    }
  }
  std::size_t start = 0;
  while (true) {
    const auto end = path.find('/', start);
    const auto segment = path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (segment.empty() || segment == "." || segment == "..") {
      return "has an empty, \".\" or \"..\" segment";
    }
    if (end == std::string_view::npos) {
      break;
    }
    start = end + 1;
  }
  return std::nullopt;
}

} // namespace airlock::tuf
