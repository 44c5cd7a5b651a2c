// OSV records as policy input: the record parser (fields checked, ranges validated so they can
// be ordered), range evaluation in PEP 440 order, the CVSS v3 base score, the zip of records,
// and the per-project index.

#include <airlock/policy/advisory.hpp>

#include <airlock/policy/filename.hpp>
#include <airlock/policy/zip.hpp>
#include <airlock/util/text.hpp>
#include <airlock/util/utf8.hpp>

#include "json_util.hpp"
#include "zip_format.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <array>
#include <cmath>
#include <map>

namespace airlock::policy {

namespace {

using namespace json_util;

// osv.dev ids are about 20 characters ("GHSA-j8r2-6x86-q33q", "MAL-2026-16135").
constexpr std::size_t k_max_id = 128;
constexpr std::size_t k_max_summary = 300;
// How much of an untrusted string a message shows.
constexpr std::size_t k_max_shown = 64;

// The versions OSV gives a meaning of its own: before every version, and no limit.
constexpr std::string_view k_version_zero = "0";
constexpr std::string_view k_no_limit = "*";

// Returns untrusted text fit for a one-line message: quoted, bytes outside printable ASCII
// as \xNN, cut at k_max_shown bytes.
std::string
quoted(std::string_view text)
{
  std::string out = "\"";
  for (const char c : text.substr(0, k_max_shown)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7e || c == '"' || c == '\\') {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  out += text.size() > k_max_shown ? "\"..." : "\"";
  return out;
}

bool
is_visible_ascii(std::string_view text)
{
  return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

bool
is_valid_id(std::string_view id)
{
  return !id.empty() && id.size() <= k_max_id && is_visible_ascii(id);
}

// Returns a type name as a note shows it: bare when it is a plain token, else quoted.
std::string
shown_type(std::string_view type)
{
  return is_valid_id(type) ? std::string(type) : quoted(type);
}

// Code points that would break the one line in a log or a page, or reorder it (bidi controls).
bool
is_hidden_code_point(std::string_view sequence)
{
  static constexpr std::array<std::string_view, 14> k_hidden = {
    "\xD8\x9C",                                                             // U+061C ALM
    "\xE2\x80\x8E", "\xE2\x80\x8F",                                         // U+200E, U+200F
    "\xE2\x80\xAA", "\xE2\x80\xAB", "\xE2\x80\xAC", "\xE2\x80\xAD", "\xE2\x80\xAE", // U+202A-E
    "\xE2\x81\xA6", "\xE2\x81\xA7", "\xE2\x81\xA8", "\xE2\x81\xA9",         // U+2066-9
    "\xEF\xBB\xBF",                                                         // U+FEFF
    "\xC2\xAD",                                                             // U+00AD soft hyphen
  };
  // C1 controls, U+0080-U+009F.
  if (sequence.size() == 2 && sequence[0] == '\xC2' && static_cast<unsigned char>(sequence[1]) < 0xA0) {
    return true;
  }
  return std::find(k_hidden.begin(), k_hidden.end(), sequence) != k_hidden.end();
}

bool
is_line_break_code_point(std::string_view sequence)
{
  return sequence == "\xE2\x80\xA8" || sequence == "\xE2\x80\xA9"; // U+2028, U+2029
}

// Returns free text as one line of at most k_max_summary bytes: whitespace and line breaks
// become single spaces, control and bidi characters go, invalid UTF-8 becomes U+FFFD, and a
// cut (on a character boundary) ends with "...".
std::string
one_line(std::string_view text)
{
  std::string out;
  bool pending_space = false;
  bool cut = false;
  const auto append = [&](std::string_view piece) {
    const std::size_t needed = piece.size() + (pending_space ? 1 : 0);
    if (out.size() + needed > k_max_summary) {
      cut = true;
      return;
    }
    if (pending_space) {
      out += ' ';
      pending_space = false;
    }
    out += piece;
  };
  std::size_t pos = 0;
  while (pos < text.size() && !cut) {
    const auto byte = static_cast<unsigned char>(text[pos]);
    if (byte < 0x80) {
      ++pos;
      if (byte == ' ' || byte == '\t' || byte == '\n' || byte == '\r' || byte == '\f' || byte == '\v') {
        pending_space = !out.empty();
      } else if (byte >= 0x20 && byte != 0x7f) {
        append(text.substr(pos - 1, 1));
      }
      continue;
    }
    const std::size_t length = utf8_sequence_length(text, pos);
    if (length == 0) {
      append(k_replacement_character);
      ++pos;
      continue;
    }
    const std::string_view sequence = text.substr(pos, length);
    pos += length;
    if (is_line_break_code_point(sequence)) {
      pending_space = !out.empty();
    } else if (!is_hidden_code_point(sequence)) {
      append(sequence);
    }
  }
  if (cut) {
    // Make room for the ellipsis, backing up to a character boundary.
    constexpr std::string_view k_ellipsis = "...";
    std::size_t end = std::min(out.size(), k_max_summary - k_ellipsis.size());
    while (end > 0 && (static_cast<unsigned char>(out[end]) & 0xC0) == 0x80) {
      --end;
    }
    out.resize(end);
    while (!out.empty() && out.back() == ' ') {
      out.pop_back();
    }
    out += k_ellipsis;
  }
  return out;
}

// Returns the first line of `details` with any text on it.
std::string_view
first_line(std::string_view details)
{
  while (!details.empty()) {
    const auto end = details.find_first_of("\r\n");
    const std::string_view line = details.substr(0, end);
    if (line.find_first_not_of(" \t\f\v") != std::string_view::npos) {
      return line;
    }
    if (end == std::string_view::npos) {
      break;
    }
    details.remove_prefix(end + 1);
  }
  return {};
}

// A field that must be a string when present: nullptr when absent (or null, as some writers
// spell absent), an error naming `where` when it holds another type.
Expected<const json::string*>
optional_string(const json::object& object, std::string_view key, std::string_view where)
{
  const auto* value = find(object, key);
  if (value == nullptr || value->is_null()) {
    return nullptr;
  }
  if (const auto* text = value->if_string()) {
    return text;
  }
  return make_unexpected(fmt::format("{}: not a string", where));
}

// The same for an array.
Expected<const json::array*>
optional_array(const json::object& object, std::string_view key, std::string_view where)
{
  const auto* value = find(object, key);
  if (value == nullptr || value->is_null()) {
    return nullptr;
  }
  if (const auto* array = value->if_array()) {
    return array;
  }
  return make_unexpected(fmt::format("{}: not an array", where));
}

Expected<Time>
required_time(const json::object& object, std::string_view key)
{
  const auto text = optional_string(object, key, key);
  if (!text) {
    return make_unexpected(text.error());
  }
  if (*text == nullptr) {
    return make_unexpected(fmt::format("{}: missing", key));
  }
  const auto time = parse_rfc3339(view(**text));
  if (!time) {
    return make_unexpected(fmt::format("{}: {} is not an RFC 3339 time", key, quoted(view(**text))));
  }
  return *time;
}

// An optional time that cannot be read is noted and left out: for `withdrawn` that keeps the
// record in force, for `published` it costs nothing.
Expected<std::optional<Time>>
optional_time(const json::object& object, std::string_view key, std::vector<std::string>& notes)
{
  const auto text = optional_string(object, key, key);
  if (!text) {
    return make_unexpected(text.error());
  }
  if (*text == nullptr) {
    return std::optional<Time>{};
  }
  const auto time = parse_rfc3339(view(**text));
  if (!time) {
    notes.push_back(fmt::format("{}: {} is not an RFC 3339 time; ignored", key, quoted(view(**text))));
  }
  return time;
}

Expected<std::vector<std::string>>
read_aliases(const json::object& record, std::string_view id, std::vector<std::string>& notes)
{
  const auto array = optional_array(record, "aliases", "aliases");
  if (!array) {
    return make_unexpected(array.error());
  }
  std::vector<std::string> aliases;
  if (*array == nullptr) {
    return aliases;
  }
  for (std::size_t i = 0; i < (*array)->size(); ++i) {
    const auto* alias = (**array)[i].if_string();
    if (alias == nullptr) {
      return make_unexpected(fmt::format("aliases[{}]: not a string", i));
    }
    const std::string_view text = view(*alias);
    if (!is_valid_id(text)) {
      notes.push_back(fmt::format("aliases[{}]: {} is not an id; ignored", i, quoted(text)));
      continue;
    }
    if (text != id && std::find(aliases.begin(), aliases.end(), text) == aliases.end()) {
      aliases.emplace_back(text);
    }
  }
  return aliases;
}

struct SeverityReading
{
  Severity severity = Severity::none;
  std::optional<double> score;
};

// CVSS v3 vectors first (the highest when there are several), then the database's own rating.
Expected<SeverityReading>
read_severity(const json::object& record, std::vector<std::string>& notes)
{
  const auto array = optional_array(record, "severity", "severity");
  if (!array) {
    return make_unexpected(array.error());
  }
  SeverityReading reading;
  std::vector<std::string> unread;
  if (*array != nullptr) {
    for (std::size_t i = 0; i < (*array)->size(); ++i) {
      const auto where = fmt::format("severity[{}]", i);
      const auto* entry = (**array)[i].if_object();
      if (entry == nullptr) {
        return make_unexpected(fmt::format("{}: not an object", where));
      }
      const auto type = optional_string(*entry, "type", where + ".type");
      const auto score = optional_string(*entry, "score", where + ".score");
      if (!type || !score) {
        return make_unexpected(!type ? type.error() : score.error());
      }
      if (*type == nullptr || *score == nullptr) {
        return make_unexpected(fmt::format("{}: needs a type and a score", where));
      }
      if (view(**type) != "CVSS_V3") {
        unread.push_back(fmt::format("{}: {} severity not read", where, shown_type(view(**type))));
        continue;
      }
      const auto value = cvss3_base_score(view(**score));
      if (!value) {
        notes.push_back(fmt::format("{}: {} is not a CVSS v3 vector; ignored", where, quoted(view(**score))));
        continue;
      }
      if (!reading.score || *value > *reading.score) {
        reading.score = *value;
      }
    }
  }
  if (reading.score) {
    reading.severity = severity_of_score(*reading.score);
    return reading;
  }
  // GitHub's advisories carry their rating here; other databases use other places or none.
  if (const auto* database = find_object(record, "database_specific")) {
    if (const auto* rating = find_string(*database, "severity")) {
      const std::string text = lowercase(view(*rating));
      if (text == "low" || text == "medium" || text == "high" || text == "critical") {
        reading.severity = *parse_severity(text);
      } else if (text == "moderate") {
        reading.severity = Severity::medium;
      } else {
        notes.push_back(fmt::format("database_specific.severity: {} is not a rating; ignored", quoted(view(*rating))));
      }
      return reading;
    }
  }
  notes.insert(notes.end(), unread.begin(), unread.end());
  return reading;
}

struct EventName
{
  std::string_view key;
  VersionRange::Event event;
};

constexpr std::array<EventName, 4> k_events = {{{"introduced", VersionRange::Event::introduced},
                                                {"fixed", VersionRange::Event::fixed},
                                                {"last_affected", VersionRange::Event::last_affected},
                                                {"limit", VersionRange::Event::limit}}};

// Reads one ECOSYSTEM range. Every version must parse: a range that cannot be put in order
// cannot be evaluated, and the record is refused rather than read as admitting nothing.
Expected<VersionRange>
read_ecosystem_range(const json::object& range, std::string_view where)
{
  const auto events = optional_array(range, "events", fmt::format("{}.events", where));
  if (!events) {
    return make_unexpected(events.error());
  }
  if (*events == nullptr) {
    return make_unexpected(fmt::format("{}.events: missing", where));
  }
  VersionRange out;
  for (std::size_t i = 0; i < (*events)->size(); ++i) {
    const auto event_where = fmt::format("{}.events[{}]", where, i);
    const auto* event = (**events)[i].if_object();
    if (event == nullptr) {
      return make_unexpected(fmt::format("{}: not an object", event_where));
    }
    const EventName* name = nullptr;
    if (event->size() == 1) {
      for (const EventName& candidate : k_events) {
        if (event->contains(candidate.key)) {
          name = &candidate;
        }
      }
    }
    if (name == nullptr) {
      return make_unexpected(
        fmt::format("{}: not exactly one of introduced, fixed, last_affected, limit", event_where));
    }
    const auto* version = find_string(*event, name->key);
    if (version == nullptr) {
      return make_unexpected(fmt::format("{}.{}: not a string", event_where, name->key));
    }
    const std::string_view text = view(*version);
    const bool special = (name->event == VersionRange::Event::introduced && text == k_version_zero)
                         || (name->event == VersionRange::Event::limit && text == k_no_limit);
    if (!special && !Version::parse(text)) {
      return make_unexpected(fmt::format("{}.{}: {} is not a PEP 440 version", event_where, name->key, quoted(text)));
    }
    out.events.emplace_back(name->event, std::string(text));
  }
  return out;
}

// True when the range admits every version: introduced "0" and nothing that ends it.
bool
admits_everything(const VersionRange& range)
{
  bool from_zero = false;
  for (const auto& [event, version] : range.events) {
    switch (event) {
    case VersionRange::Event::introduced:
      from_zero = from_zero || version == k_version_zero;
      break;
    case VersionRange::Event::limit:
      if (version != k_no_limit) {
        return false;
      }
      break;
    case VersionRange::Event::fixed:
    case VersionRange::Event::last_affected:
      return false;
    }
  }
  return from_zero;
}

template<typename T>
void
append_unique(std::vector<T>& to, const T& value)
{
  if (std::find(to.begin(), to.end(), value) == to.end()) {
    to.push_back(value);
  }
}

// Reads affected[index] into `projects` when its ecosystem is PyPI, merging entries that name
// the same project.
Expected<void>
read_affected(const json::value& value, std::size_t index, std::vector<AffectedProject>& projects,
              std::vector<std::string>& notes)
{
  const auto where = fmt::format("affected[{}]", index);
  const auto* affected = value.if_object();
  if (affected == nullptr) {
    return make_unexpected(fmt::format("{}: not an object", where));
  }
  const auto* package_value = find(*affected, "package");
  if (package_value == nullptr || package_value->is_null()) {
    return {}; // only a CVE-style entry without a package; nothing to match
  }
  const auto* package = package_value->if_object();
  if (package == nullptr) {
    return make_unexpected(fmt::format("{}.package: not an object", where));
  }
  const auto ecosystem = optional_string(*package, "ecosystem", where + ".package.ecosystem");
  if (!ecosystem) {
    return make_unexpected(ecosystem.error());
  }
  // "PyPI" exactly: the schema's ":suffix" form is for ecosystems with releases (Debian:12).
  if (*ecosystem == nullptr || view(**ecosystem) != "PyPI") {
    return {};
  }
  const auto name = optional_string(*package, "name", where + ".package.name");
  if (!name) {
    return make_unexpected(name.error());
  }
  if (*name == nullptr) {
    return make_unexpected(fmt::format("{}.package.name: missing", where));
  }
  if (!is_valid_project_name(view(**name))) {
    return make_unexpected(
      fmt::format("{}.package.name: {} is not a valid project name", where, quoted(view(**name))));
  }

  AffectedProject read;
  read.project = normalize_project_name(view(**name));
  const auto versions = optional_array(*affected, "versions", where + ".versions");
  if (!versions) {
    return make_unexpected(versions.error());
  }
  if (*versions != nullptr) {
    for (std::size_t i = 0; i < (*versions)->size(); ++i) {
      const auto* version = (**versions)[i].if_string();
      if (version == nullptr) {
        return make_unexpected(fmt::format("{}.versions[{}]: not a string", where, i));
      }
      append_unique(read.versions, std::string(view(*version)));
    }
  }
  const auto ranges = optional_array(*affected, "ranges", where + ".ranges");
  if (!ranges) {
    return make_unexpected(ranges.error());
  }
  if (*ranges != nullptr) {
    for (std::size_t i = 0; i < (*ranges)->size(); ++i) {
      const auto range_where = fmt::format("{}.ranges[{}]", where, i);
      const auto* range = (**ranges)[i].if_object();
      if (range == nullptr) {
        return make_unexpected(fmt::format("{}: not an object", range_where));
      }
      const auto type = optional_string(*range, "type", range_where + ".type");
      if (!type) {
        return make_unexpected(type.error());
      }
      if (*type == nullptr) {
        return make_unexpected(fmt::format("{}.type: missing", range_where));
      }
      if (view(**type) != "ECOSYSTEM") {
        // GIT ranges name commits and SEMVER ranges another ordering: neither orders PyPI releases.
        notes.push_back(fmt::format("{}: {} range ignored", range_where, shown_type(view(**type))));
        continue;
      }
      auto ecosystem_range = read_ecosystem_range(*range, range_where);
      if (!ecosystem_range) {
        return make_unexpected(ecosystem_range.error());
      }
      for (const auto& [event, version] : ecosystem_range->events) {
        if (event == VersionRange::Event::fixed) {
          append_unique(read.fixed, version);
        }
      }
      read.every_version = read.every_version || admits_everything(*ecosystem_range);
      read.ranges.push_back(std::move(*ecosystem_range));
    }
  }

  const auto same = std::find_if(projects.begin(), projects.end(),
                                 [&](const AffectedProject& known) { return known.project == read.project; });
  if (same == projects.end()) {
    projects.push_back(std::move(read));
    return {};
  }
  for (const std::string& version : read.versions) {
    append_unique(same->versions, version);
  }
  for (const std::string& version : read.fixed) {
    append_unique(same->fixed, version);
  }
  for (VersionRange& range : read.ranges) {
    same->ranges.push_back(std::move(range));
  }
  same->every_version = same->every_version || read.every_version;
  return {};
}

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

// The CVSS v3 base metrics, in the specification's order, and the weights of their values.
struct Metric
{
  std::string_view key;
  std::string_view values; // one letter each
};

constexpr std::array<Metric, 8> k_base_metrics = {{{"AV", "NALP"},
                                                   {"AC", "LH"},
                                                   {"PR", "NLH"},
                                                   {"UI", "NR"},
                                                   {"S", "UC"},
                                                   {"C", "HLN"},
                                                   {"I", "HLN"},
                                                   {"A", "HLN"}}};

bool
is_upper_word(std::string_view text)
{
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

double
impact_weight(char value)
{
  return value == 'H' ? 0.56 : value == 'L' ? 0.22 : 0.0;
}

// CVSS v3.1 Appendix A: rounding up on an integer, so that 4.000000000000001 (a floating-point
// artefact) is 4.0, not 4.1.
double
roundup_v31(double value)
{
  const auto scaled = static_cast<std::int64_t>(std::llround(value * 100000.0));
  if (scaled % 10000 == 0) {
    return static_cast<double>(scaled) / 100000.0;
  }
  return static_cast<double>(scaled / 10000 + 1) / 10.0;
}

// CVSS v3.0 as its reference calculator computes it (and as v3.0 scores were published).
double
roundup_v30(double value)
{
  return std::ceil(value * 10.0) / 10.0;
}

std::string_view
slice(std::string_view bytes, std::uint64_t offset, std::uint64_t size)
{
  return offset > bytes.size() ? std::string_view{} : bytes.substr(static_cast<std::size_t>(offset), size);
}

bool
is_record_name(std::string_view name)
{
  constexpr std::string_view k_suffix = ".json";
  return name.size() > k_suffix.size() && name.ends_with(k_suffix) && !name.ends_with("/.json");
}

} // namespace

std::string_view
to_string(Severity severity)
{
  switch (severity) {
  case Severity::none:
    return "none";
  case Severity::low:
    return "low";
  case Severity::medium:
    return "medium";
  case Severity::high:
    return "high";
  case Severity::critical:
    return "critical";
  }
  return "none";
}

std::optional<Severity>
parse_severity(std::string_view name)
{
  for (const Severity severity :
       {Severity::none, Severity::low, Severity::medium, Severity::high, Severity::critical}) {
    if (to_string(severity) == name) {
      return severity;
    }
  }
  return std::nullopt;
}

std::optional<double>
cvss3_base_score(std::string_view vector)
{
  bool v30 = false;
  if (vector.starts_with("CVSS:3.0/")) {
    v30 = true;
  } else if (!vector.starts_with("CVSS:3.1/")) {
    return std::nullopt;
  }
  std::string_view rest = vector.substr(9);
  std::array<char, k_base_metrics.size()> chosen{};
  for (;;) {
    const auto slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    const auto colon = part.find(':');
    if (colon == std::string_view::npos) {
      return std::nullopt;
    }
    const std::string_view key = part.substr(0, colon);
    const std::string_view value = part.substr(colon + 1);
    if (!is_upper_word(key) || !is_upper_word(value)) {
      return std::nullopt;
    }
    const auto metric = std::find_if(k_base_metrics.begin(), k_base_metrics.end(),
                                     [&](const Metric& m) { return m.key == key; });
    // Temporal and environmental metrics do not change the base score.
    if (metric != k_base_metrics.end()) {
      char& slot = chosen[static_cast<std::size_t>(metric - k_base_metrics.begin())];
      if (slot != 0 || value.size() != 1 || metric->values.find(value[0]) == std::string_view::npos) {
        return std::nullopt;
      }
      slot = value[0];
    }
    if (slash == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(slash + 1);
  }
  if (std::find(chosen.begin(), chosen.end(), char{0}) != chosen.end()) {
    return std::nullopt;
  }
  const auto [av, ac, pr, ui, scope, c, i, a] = chosen;
  const bool changed = scope == 'C';

  const double attack_vector = av == 'N' ? 0.85 : av == 'A' ? 0.62 : av == 'L' ? 0.55 : 0.2;
  const double complexity = ac == 'L' ? 0.77 : 0.44;
  const double privileges = pr == 'N' ? 0.85 : pr == 'L' ? (changed ? 0.68 : 0.62) : (changed ? 0.5 : 0.27);
  const double interaction = ui == 'N' ? 0.85 : 0.62;

  const double iss = 1.0 - ((1.0 - impact_weight(c)) * (1.0 - impact_weight(i)) * (1.0 - impact_weight(a)));
  const double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * std::pow(iss - 0.02, 15) : 6.42 * iss;
  const double exploitability = 8.22 * attack_vector * complexity * privileges * interaction;
  if (impact <= 0) {
    return 0.0;
  }
  const double raw = changed ? std::min(1.08 * (impact + exploitability), 10.0) : std::min(impact + exploitability, 10.0);
  return v30 ? roundup_v30(raw) : roundup_v31(raw);
}

Severity
severity_of_score(double score)
{
  if (!(score > 0.0)) {
    return Severity::none;
  }
  if (score < 4.0) {
    return Severity::low;
  }
  if (score < 7.0) {
    return Severity::medium;
  }
  if (score < 9.0) {
    return Severity::high;
  }
  return Severity::critical;
}

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

Expected<Advisory>
parse_osv_record(std::string_view text)
{
  boost::system::error_code error;
  const json::value value = json_util::parse(text, error);
  if (error == json::error::too_deep) {
    return make_unexpected(fmt::format("not JSON: nesting over {} levels", k_max_depth));
  }
  if (error) {
    return make_unexpected(fmt::format("not JSON: {}", error.message()));
  }
  const auto* record = value.if_object();
  if (record == nullptr) {
    return make_unexpected("not a JSON object");
  }

  Advisory out;
  const auto id = optional_string(*record, "id", "id");
  if (!id) {
    return make_unexpected(id.error());
  }
  if (*id == nullptr) {
    return make_unexpected("id: missing");
  }
  if (!is_valid_id(view(**id))) {
    return make_unexpected(
      fmt::format("id: {} is not 1-{} printable ASCII characters without spaces", quoted(view(**id)), k_max_id));
  }
  out.id = view(**id);

  auto modified = required_time(*record, "modified");
  if (!modified) {
    return make_unexpected(modified.error());
  }
  out.modified = *modified;
  auto published = optional_time(*record, "published", out.notes);
  auto withdrawn = optional_time(*record, "withdrawn", out.notes);
  if (!published || !withdrawn) {
    return make_unexpected(!published ? published.error() : withdrawn.error());
  }
  out.published = *published;
  out.withdrawn = *withdrawn;

  auto aliases = read_aliases(*record, out.id, out.notes);
  if (!aliases) {
    return make_unexpected(aliases.error());
  }
  out.aliases = std::move(*aliases);
  out.malicious = out.id.starts_with("MAL-")
                  || std::any_of(out.aliases.begin(), out.aliases.end(),
                                 [](const std::string& alias) { return alias.starts_with("MAL-"); });

  const auto summary = optional_string(*record, "summary", "summary");
  const auto details = optional_string(*record, "details", "details");
  if (!summary || !details) {
    return make_unexpected(!summary ? summary.error() : details.error());
  }
  if (*summary != nullptr) {
    out.summary = one_line(view(**summary));
  }
  if (out.summary.empty() && *details != nullptr) {
    out.summary = one_line(first_line(view(**details)));
  }

  const auto severity = read_severity(*record, out.notes);
  if (!severity) {
    return make_unexpected(severity.error());
  }
  out.severity = severity->severity;
  out.cvss_score = severity->score;

  const auto affected = optional_array(*record, "affected", "affected");
  if (!affected) {
    return make_unexpected(affected.error());
  }
  if (*affected != nullptr) {
    for (std::size_t i = 0; i < (*affected)->size(); ++i) {
      if (const auto read = read_affected((**affected)[i], i, out.affected, out.notes); !read) {
        return make_unexpected(read.error());
      }
    }
  }
  return out;
}

Expected<std::vector<std::string>>
for_each_zip_record(std::string_view zip, const std::function<void(std::string_view, std::string_view)>& fn)
{
  const std::uint64_t size = zip.size();
  const auto where = locate_central_directory(slice(zip, size - tail_read_size(size), size), size, k_zip_max_entries);
  if (!where) {
    return make_unexpected(where.error());
  }
  const auto entries = parse_central_directory(slice(zip, where->offset, size), *where, size, k_zip_max_entries);
  if (!entries) {
    return make_unexpected(entries.error());
  }

  std::vector<std::string> skipped;
  // The sizes were checked against the directory's: extract_entry refuses an entry that
  // inflates to anything else, so their sum bounds what is read before any of it is.
  std::uint64_t total = 0;
  std::vector<const ZipEntry*> wanted;
  for (const ZipEntry& entry : *entries) {
    if (!is_record_name(entry.name)) {
      continue;
    }
    if (entry.uncompressed_size > k_zip_max_record_size) {
      skipped.push_back(fmt::format("{}: {} bytes, over the {}-byte limit of a record", entry.name,
                                    entry.uncompressed_size, k_zip_max_record_size));
      continue;
    }
    total += entry.uncompressed_size;
    if (total > k_zip_max_total_size) {
      return make_unexpected(fmt::format("zip records hold over {} bytes uncompressed", k_zip_max_total_size));
    }
    wanted.push_back(&entry);
  }
  for (const ZipEntry* entry : wanted) {
    const auto text = extract_entry(*entry, slice(zip, entry->local_header_offset, local_read_size(*entry)),
                                    k_zip_max_record_size);
    if (!text) {
      // Its messages name the entry already; the list says the name once.
      const std::string prefix = zip::entry_error(entry->name, "");
      std::string_view why = text.error();
      if (why.starts_with(prefix)) {
        why.remove_prefix(prefix.size());
      }
      skipped.push_back(fmt::format("{}: {}", entry->name, why));
      continue;
    }
    fn(entry->name, *text);
  }
  return skipped;
}

Expected<ZipRecords>
read_zip_records(std::string_view zip)
{
  ZipRecords out;
  auto skipped = for_each_zip_record(zip, [&](std::string_view name, std::string_view text) {
    out.records.emplace_back(std::string(name), std::string(text));
  });
  if (!skipped) {
    return make_unexpected(skipped.error());
  }
  out.skipped = std::move(*skipped);
  return out;
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

} // namespace airlock::policy
