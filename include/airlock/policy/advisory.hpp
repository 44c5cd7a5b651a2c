#pragma once

// OSV advisories (https://ossf.github.io/osv-schema/) as policy input: records parsed from
// untrusted text, matched against PyPI versions, indexed per project. No I/O.

#include <airlock/policy/version.hpp>
#include <airlock/storage/records.hpp>
#include <airlock/util/error.hpp>
#include <airlock/util/time.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace airlock::policy {

// CVSS qualitative ratings; none = the record gives no severity Airlock can read.
enum class Severity : std::uint8_t { none = 0, low = 1, medium = 2, high = 3, critical = 4 };

std::string_view to_string(Severity severity);
// "none", "low", "medium", "high", "critical" (as [advisories] block_severity spells them).
std::optional<Severity> parse_severity(std::string_view name);

// The CVSS v3.0/v3.1 base score of a vector ("CVSS:3.1/AV:N/AC:L/..."), rounded up to one
// decimal as the specification rounds; nullopt for another version or a malformed vector.
std::optional<double> cvss3_base_score(std::string_view vector);
// 0.1-3.9 low, 4.0-6.9 medium, 7.0-8.9 high, 9.0-10.0 critical; 0.0 none.
Severity severity_of_score(double score);

// One `ranges` entry of type ECOSYSTEM, its events in the order the record gives them.
struct VersionRange
{
  enum class Event : std::uint8_t { introduced, fixed, last_affected, limit };
  std::vector<std::pair<Event, std::string>> events;

  friend bool operator==(const VersionRange&, const VersionRange&) = default;
};

// What one record says about one PyPI project.
struct AffectedProject
{
  std::string project;               // PEP 503-normalized
  std::vector<std::string> versions; // affected[].versions, as written
  std::vector<VersionRange> ranges;  // ECOSYSTEM ranges only
  std::vector<std::string> fixed;    // the versions the ranges name as fixing it
  // A range that admits every version (introduced "0", nothing after): the whole project.
  bool every_version = false;

  // True when the record names this version: in `versions` (PEP 440 equality, or the text as
  // written for a version that is not PEP 440), or inside a range in PEP 440 order.
  bool matches(std::string_view version) const;

  friend bool operator==(const AffectedProject&, const AffectedProject&) = default;
};

// One OSV record, reduced to what Airlock uses.
struct Advisory
{
  std::string id;
  std::vector<std::string> aliases;
  std::string summary;   // one line, at most 300 bytes: `summary`, else the first line of `details`
  Time modified{};
  std::optional<Time> published;
  std::optional<Time> withdrawn;
  Severity severity = Severity::none;
  std::optional<double> cvss_score; // when the severity came from a CVSS v3 vector
  bool malicious = false;           // the id, or an alias, starts "MAL-"
  std::vector<AffectedProject> affected; // ecosystem "PyPI" only, one entry per project
  // What was ignored and why, one line each ("GIT range ignored"), for the log.
  std::vector<std::string> notes;

  friend bool operator==(const Advisory&, const Advisory&) = default;
};

// Parses one OSV record. A record with no PyPI entry parses, with `affected` empty. Errors
// are one line naming the field and the problem: not JSON, nesting over 32 levels, a missing
// or malformed id or modified, a PyPI entry without a valid package name, an unreadable
// version in a range.
Expected<Advisory> parse_osv_record(std::string_view text);

// The limits of a zip of records, with headroom over osv.dev's PyPI/all.zip (about 20,000
// entries, 100 MB uncompressed in 2026).
inline constexpr std::size_t k_zip_max_entries = 200'000;
inline constexpr std::size_t k_zip_max_record_size = 4 << 20;      // one record, uncompressed
inline constexpr std::uint64_t k_zip_max_total_size = 1ULL << 30;  // all records, uncompressed

// The `.json` entries of a zip of records, as (entry name, text), in directory order; other
// entries are skipped. Errors on a malformed zip, one over the entry limit, or records over
// the total size; a record over its own size limit, or one that cannot be extracted, is
// reported in `skipped` as "name: why", and the rest is read.
struct ZipRecords
{
  std::vector<std::pair<std::string, std::string>> records;
  std::vector<std::string> skipped;
};
Expected<ZipRecords> read_zip_records(std::string_view zip);
// The same, one record at a time: fn(entry name, text) for each, so a whole feed is never in
// memory at once. Returns what was skipped.
Expected<std::vector<std::string>>
for_each_zip_record(std::string_view zip, const std::function<void(std::string_view, std::string_view)>& fn);

struct CompiledAffected; // an AffectedProject with its versions parsed (advisory.cpp)

// A set of records in force: one per id (the later `modified` wins; a withdrawn record wins
// over the record it withdraws only when it is the later one), indexed per project.
// Immutable; safe to share between threads.
class Advisories
{
public:
  // What one record says about one project.
  struct Match
  {
    const Advisory* advisory = nullptr;
    const AffectedProject* affected = nullptr;
    // Files the record may block in this project; nullptr = any file it matches. A record
    // held by the kill-switch guard blocks only what it blocked before the refresh.
    const std::vector<storage::FileKey>* only = nullptr;
    const CompiledAffected* compiled = nullptr;

    // affected->matches(version), with the record's versions parsed once; `parsed` is
    // Version::parse(version), so deciding a file parses its version once for all records.
    bool matches(const std::optional<Version>& parsed, std::string_view version) const;
  };

  Advisories(); // empty
  // `held`: ids whose blocks are limited to the files given (sorted).
  explicit Advisories(std::vector<Advisory> records,
                      std::vector<std::pair<std::string, std::vector<storage::FileKey>>> held = {});
  Advisories(Advisories&&) noexcept;
  Advisories& operator=(Advisories&&) noexcept;
  Advisories(const Advisories&) = delete;
  Advisories& operator=(const Advisories&) = delete;
  ~Advisories();

  // The records naming a project (normalized name), withdrawn ones excluded, by id.
  std::span<const Match> for_project(std::string_view project) const;
  // A record by id or alias; withdrawn ones included.
  const Advisory* find(std::string_view id) const;
  // Every record kept (one per id), withdrawn ones included, sorted by id.
  std::span<const Advisory> records() const;
  // The newest `modified` that is not after `now`; nullopt when there is none.
  std::optional<Time> newest_modified(Time now) const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace airlock::policy
