// Matching OSV records against versions (ranges in PEP 440 order, each record's versions
// parsed once), the per-project index of the records in force, and which of them block a file.

#include <airlock/policy/advisory.hpp>
#include <airlock/policy/policy.hpp>

#include <algorithm>
#include <deque>
#include <map>

namespace airlock::policy {

namespace {

// The versions OSV gives a meaning of its own: before every version, and no limit.
constexpr std::string_view k_version_zero = "0";
constexpr std::string_view k_no_limit = "*";

// One range with its versions parsed and its events in version order ("0" first; equal
// versions keep the record's order). `valid` is false for a range that cannot be ordered
// (parse_osv_record refuses those; one built by hand admits nothing).
struct CompiledRange
{
  struct Bound
  {
    VersionRange::Event event;
    std::optional<Version> at; // nullopt: introduced "0", before every version
  };
  std::vector<Bound> bounds;
  std::vector<Version> limits;
  bool limited = false;
  bool no_limit = false; // a limit "*"
  bool valid = true;
};

CompiledRange
compile_range(const VersionRange& range)
{
  CompiledRange out;
  out.bounds.reserve(range.events.size());
  for (const auto& [event, text] : range.events) {
    if (event == VersionRange::Event::introduced && text == k_version_zero) {
      out.bounds.push_back({event, std::nullopt});
      continue;
    }
    if (event == VersionRange::Event::limit && text == k_no_limit) {
      out.limited = true;
      out.no_limit = true;
      continue;
    }
    auto at = Version::parse(text);
    if (!at) {
      out.valid = false;
      return out;
    }
    if (event == VersionRange::Event::limit) {
      out.limited = true;
      out.limits.push_back(std::move(*at));
      continue;
    }
    out.bounds.push_back({event, std::move(at)});
  }
  std::stable_sort(out.bounds.begin(), out.bounds.end(), [](const CompiledRange::Bound& a, const CompiledRange::Bound& b) {
    if (!b.at) {
      return false;
    }
    return !a.at || *a.at < *b.at;
  });
  return out;
}

// The OSV schema's evaluation: an introduced at or below the version opens, a fixed at or
// below it closes, a last_affected below it closes; limits, when there are any, bound the
// range from above.
bool
range_admits(const CompiledRange& range, const Version& version)
{
  if (!range.valid) {
    return false;
  }
  if (range.limited && !range.no_limit
      && std::none_of(range.limits.begin(), range.limits.end(), [&](const Version& limit) { return version < limit; })) {
    return false;
  }
  bool affected = false;
  for (const auto& bound : range.bounds) {
    switch (bound.event) {
    case VersionRange::Event::introduced:
      affected = affected || !bound.at || version >= *bound.at;
      break;
    case VersionRange::Event::fixed:
      affected = affected && version < *bound.at;
      break;
    case VersionRange::Event::last_affected:
      affected = affected && version <= *bound.at;
      break;
    case VersionRange::Event::limit:
      break;
    }
  }
  return affected;
}

} // namespace

// What one AffectedProject names, with every version parsed once. Listed versions are kept
// as canonical strings, not Version objects: a PYSEC record lists hundreds, and a feed holds
// tens of thousands of records.
struct CompiledAffected
{
  explicit CompiledAffected(const AffectedProject& affected) : every(affected.every_version)
  {
    // Views into `affected` (which the set keeps) where the text is canonical already, as
    // listed versions almost always are; owned copies for the few that are not.
    for (const auto& text : affected.versions) {
      if (const auto parsed = Version::parse(text)) {
        if (auto form = parsed->canonical(); form == text) {
          canonical.push_back(text);
        } else {
          owned.push_back(std::move(form));
        }
      } else {
        unparsed.push_back(text);
      }
    }
    // Views into `owned` only once it has stopped growing.
    for (const auto& form : owned) {
      canonical.push_back(form);
    }
    std::sort(canonical.begin(), canonical.end());
    std::sort(unparsed.begin(), unparsed.end());
    canonical.shrink_to_fit();
    unparsed.shrink_to_fit();
    for (const auto& range : affected.ranges) {
      ranges.push_back(compile_range(range));
    }
  }

  // It holds views into itself and into `affected`: it stays where it was made.
  CompiledAffected(const CompiledAffected&) = delete;
  CompiledAffected& operator=(const CompiledAffected&) = delete;

  bool matches(const std::optional<Version>& parsed, std::string_view text) const
  {
    // The whole project: every file, whatever its version says or fails to say.
    if (every) {
      return true;
    }
    if (!parsed) {
      return std::binary_search(unparsed.begin(), unparsed.end(), text);
    }
    // Equal versions have equal canonical forms ("1.0" and "1.0.0").
    const std::string form = parsed->canonical();
    return std::binary_search(canonical.begin(), canonical.end(), std::string_view(form))
           || std::any_of(ranges.begin(), ranges.end(), [&](const CompiledRange& r) { return range_admits(r, *parsed); });
  }

  bool every;
  std::vector<std::string> owned;          // canonical forms that differ from the text listed
  std::vector<std::string_view> canonical; // listed versions that parse, canonical, sorted
  std::vector<std::string_view> unparsed;  // the others, as written, sorted
  std::vector<CompiledRange> ranges;
};

bool
AffectedProject::matches(std::string_view version) const
{
  return CompiledAffected(*this).matches(Version::parse(version), version);
}

struct Advisories::Impl
{
  std::vector<Advisory> records; // sorted by id, one per id
  // Node-based maps: Match::only and the index point into them, and they never move.
  std::map<std::string, std::vector<storage::FileKey>, std::less<>> held;
  std::map<std::string, std::vector<Match>, std::less<>> by_project;
  std::map<std::string, const Advisory*, std::less<>> by_name; // ids, then aliases no id takes
  std::deque<CompiledAffected> compiled; // Match::compiled points here; a deque never moves them
};

bool
Advisories::Match::matches(const std::optional<Version>& parsed, std::string_view version) const
{
  return compiled != nullptr ? compiled->matches(parsed, version) : affected->matches(version);
}

Advisories::Advisories(std::vector<Advisory> records,
                       std::vector<std::pair<std::string, std::vector<storage::FileKey>>> held)
  : m_impl(std::make_unique<Impl>())
{
  std::map<std::string, Advisory, std::less<>> chosen;
  for (Advisory& record : records) {
    const auto found = chosen.find(record.id);
    if (found == chosen.end()) {
      std::string id = record.id;
      chosen.emplace(std::move(id), std::move(record));
    } else if (record.modified > found->second.modified) {
      found->second = std::move(record);
    }
  }
  m_impl->records.reserve(chosen.size());
  for (auto& [id, record] : chosen) {
    m_impl->records.push_back(std::move(record));
  }

  for (auto& [id, keys] : held) {
    auto& kept = m_impl->held[id];
    kept.insert(kept.end(), std::make_move_iterator(keys.begin()), std::make_move_iterator(keys.end()));
    std::sort(kept.begin(), kept.end());
    kept.erase(std::unique(kept.begin(), kept.end()), kept.end());
  }

  for (const Advisory& record : m_impl->records) {
    m_impl->by_name.emplace(record.id, &record);
    if (record.withdrawn) {
      continue;
    }
    const auto limited = m_impl->held.find(record.id);
    const auto* only = limited == m_impl->held.end() ? nullptr : &limited->second;
    for (const AffectedProject& affected : record.affected) {
      const auto& compiled = m_impl->compiled.emplace_back(affected);
      m_impl->by_project[affected.project].push_back(Match{&record, &affected, only, &compiled});
    }
  }
  for (const Advisory& record : m_impl->records) {
    for (const std::string& alias : record.aliases) {
      m_impl->by_name.emplace(alias, &record);
    }
  }
}

Advisories::Advisories() = default;
Advisories::Advisories(Advisories&&) noexcept = default;
Advisories& Advisories::operator=(Advisories&&) noexcept = default;
Advisories::~Advisories() = default;

std::span<const Advisories::Match>
Advisories::for_project(std::string_view project) const
{
  if (!m_impl) {
    return {};
  }
  const auto found = m_impl->by_project.find(project);
  return found == m_impl->by_project.end() ? std::span<const Match>{} : std::span<const Match>{found->second};
}

const Advisory*
Advisories::find(std::string_view id) const
{
  if (!m_impl) {
    return nullptr;
  }
  const auto found = m_impl->by_name.find(id);
  return found == m_impl->by_name.end() ? nullptr : found->second;
}

std::span<const Advisory>
Advisories::records() const
{
  return m_impl ? std::span<const Advisory>{m_impl->records} : std::span<const Advisory>{};
}

std::optional<Time>
Advisories::newest_modified(Time now) const
{
  std::optional<Time> newest;
  for (const Advisory& record : records()) {
    if (record.modified <= now && (!newest || record.modified > *newest)) {
      newest = record.modified;
    }
  }
  return newest;
}

std::vector<const Advisory*>
blocking_advisories(const storage::FileRecord& file, const ProjectContext& project, Severity block_severity)
{
  std::vector<const Advisory*> out;
  if (project.advisories.empty()) {
    return out;
  }
  const auto version = Version::parse(file.version);
  for (const auto& match : project.advisories) {
    const Advisory& advisory = *match.advisory;
    const bool blocks = advisory.malicious
                        || (!project.frozen && block_severity != Severity::none && advisory.severity >= block_severity);
    if (!blocks || !match.matches(version, file.version)) {
      continue;
    }
    if (match.only != nullptr
        && !std::binary_search(match.only->begin(), match.only->end(), storage::FileKey{file.filename, file.sha256})) {
      continue;
    }
    out.push_back(&advisory);
  }
  return out;
}

} // namespace airlock::policy
