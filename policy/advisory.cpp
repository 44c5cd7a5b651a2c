// OSV records as policy input: the record parser (fields checked, ranges validated so they can
// be ordered). The zip of records: advisory_zip.cpp; matching and the index: advisory_index.cpp;
// CVSS: cvss.cpp.

#include <airlock/policy/advisory.hpp>

#include <airlock/policy/filename.hpp>
#include <airlock/util/text.hpp>
#include <airlock/util/utf8.hpp>

#include "json_util.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>

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

} // namespace

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

} // namespace airlock::policy
