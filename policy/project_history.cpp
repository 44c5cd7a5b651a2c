// ProjectHistory: a project's files and check records, and its releases in PEP 440 order, so
// that a release is compared with the one just before it.

#include <airlock/policy/policy.hpp>

#include <airlock/policy/version.hpp>

#include <algorithm>
#include <utility>

namespace airlock::policy {

struct ProjectHistory::Impl
{
  std::vector<storage::FileRecord> files;
  std::map<storage::FileKey, storage::FileChecks> checks;
  std::vector<std::pair<Version, Release>> releases; // ascending by version
};

ProjectHistory::ProjectHistory(std::span<const storage::FileRecord> files,
                               std::map<storage::FileKey, storage::FileChecks> checks, Time project_first_seen)
  : m_impl(std::make_unique<Impl>()), m_first_seen(project_first_seen)
{
  m_impl->files.assign(files.begin(), files.end());
  m_impl->checks = std::move(checks);
  std::map<std::string, std::pair<Version, Release>> by_release;
  for (const auto& file : files) {
    auto version = Version::parse(file.version);
    if (!version) {
      continue;
    }
    auto [it, inserted] = by_release.try_emplace(version->canonical(), *version, Release{});
    auto& release = it->second.second;
    if (inserted) {
      release.version = version->normalized();
    }
    if (const auto* record = this->checks(file)) {
      release.top_level.insert(release.top_level.end(), record->top_level.begin(), record->top_level.end());
    }
  }
  for (auto& [key, entry] : by_release) {
    m_impl->releases.push_back(std::move(entry));
  }
  std::sort(m_impl->releases.begin(), m_impl->releases.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
}

ProjectHistory::~ProjectHistory() = default;
ProjectHistory::ProjectHistory(ProjectHistory&&) noexcept = default;
ProjectHistory& ProjectHistory::operator=(ProjectHistory&&) noexcept = default;

const storage::FileChecks*
ProjectHistory::checks(const storage::FileRecord& file) const
{
  const auto it = m_impl->checks.find(storage::FileKey{file.filename, file.sha256});
  return it == m_impl->checks.end() ? nullptr : &it->second;
}

std::span<const storage::FileRecord>
ProjectHistory::files() const
{
  return m_impl->files;
}

const ProjectHistory::Release*
ProjectHistory::preceding(std::string_view version) const
{
  const auto parsed = Version::parse(version);
  if (!parsed) {
    return nullptr;
  }
  const auto& releases = m_impl->releases;
  auto it = std::lower_bound(releases.begin(), releases.end(), *parsed,
                             [](const auto& entry, const Version& v) { return entry.first < v; });
  return it == releases.begin() ? nullptr : &std::prev(it)->second;
}

} // namespace airlock::policy
