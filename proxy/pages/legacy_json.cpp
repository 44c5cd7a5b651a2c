// PyPI's legacy JSON API of what Airlock serves: the documents Renovate, Dependabot and
// scripts read, built from the same filtered files as the Simple pages, so policy holds alike.
#include "pages/legacy_json.hpp"

#include <airlock/policy/version.hpp>
#include <airlock/util/hex.hpp>
#include <airlock/util/time.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <vector>

namespace airlock::proxy {

namespace {

namespace json = boost::json;

// The files of one version, equal under PEP 440 ("1.0" and "1.0.0" are one release).
struct Release
{
  std::string version; // normalized when PEP 440, else as the filename spells it
  std::optional<policy::Version> parsed;
  std::vector<const storage::FileRecord*> files;

  bool yanked() const
  {
    return std::all_of(files.begin(), files.end(), [](const auto* file) { return file->yanked.has_value(); });
  }
  bool prerelease() const { return parsed && parsed->is_prerelease(); }
};

// The releases of `files` in PEP 440 order; versions that are not PEP 440 come first, as the
// Simple pages order them. Files whose version the filename does not give are in none.
std::vector<Release>
group_releases(std::span<const storage::FileRecord> files)
{
  std::vector<std::pair<std::optional<policy::Version>, const storage::FileRecord*>> keyed;
  keyed.reserve(files.size());
  for (const auto& file : files) {
    if (!file.version.empty()) {
      keyed.emplace_back(policy::Version::parse(file.version), &file);
    }
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    if (a.first.has_value() != b.first.has_value()) {
      return !a.first.has_value();
    }
    if (a.first && *a.first != *b.first) {
      return *a.first < *b.first;
    }
    return a.second->version < b.second->version;
  });
  std::vector<Release> out;
  for (const auto& [parsed, file] : keyed) {
    const bool same = !out.empty()
                      && (parsed ? out.back().parsed && *out.back().parsed == *parsed
                                 : !out.back().parsed && out.back().version == file->version);
    if (!same) {
      out.push_back(Release{parsed ? parsed->normalized() : file->version, parsed, {}});
    }
    out.back().files.push_back(file);
  }
  return out;
}

// The release info describes, as PyPI picks it: not yanked before yanked, final before
// pre-release, then the newest.
const Release&
pick_latest(const std::vector<Release>& releases)
{
  const Release* best = &releases.front();
  for (const auto& release : releases) {
    // Ascending order: a later release of the same rank is newer.
    const auto rank = [](const Release& r) { return std::pair(!r.yanked(), !r.prerelease()); };
    if (rank(release) >= rank(*best)) {
      best = &release;
    }
  }
  return *best;
}

json::value
text_or_null(std::string_view text)
{
  return text.empty() ? json::value(nullptr) : json::value(json::string(text));
}

// "cp312" of "pkg-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"; "source" for an sdist.
std::string_view
python_version(std::string_view filename)
{
  if (!filename.ends_with(".whl")) {
    return "source";
  }
  std::string_view stem = filename.substr(0, filename.size() - 4);
  // The python tag is the third field from the end: python-abi-platform.
  for (int field = 0; field < 2; ++field) {
    const auto dash = stem.rfind('-');
    if (dash == std::string_view::npos) {
      return "";
    }
    stem = stem.substr(0, dash);
  }
  const auto dash = stem.rfind('-');
  return dash == std::string_view::npos ? std::string_view() : stem.substr(dash + 1);
}

json::object
file_object(const storage::FileRecord& file, std::string_view file_url_prefix)
{
  json::object out;
  out["filename"] = file.filename;
  // Filenames were checked on the way in (policy::is_safe_filename): nothing to escape.
  out["url"] = std::string(file_url_prefix) + to_hex(file.sha256.bytes) + "/" + file.filename;
  out["digests"] = json::object{{"sha256", to_hex(file.sha256.bytes)}};
  // 0 and a missing upload time mean upstream never said: null, not a made-up value.
  out["size"] = file.size != 0 ? json::value(file.size) : json::value(nullptr);
  if (file.upload_time) {
    const std::string iso = format_rfc3339(*file.upload_time);
    out["upload_time"] = iso.substr(0, iso.size() - 1); // PyPI's: no zone, UTC
    out["upload_time_iso_8601"] = iso;
  } else {
    out["upload_time"] = nullptr;
    out["upload_time_iso_8601"] = nullptr;
  }
  out["requires_python"] = text_or_null(file.requires_python);
  out["yanked"] = file.yanked.has_value();
  out["yanked_reason"] = file.yanked ? text_or_null(*file.yanked) : json::value(nullptr);
  out["packagetype"] = file.filename.ends_with(".whl") ? "bdist_wheel" : "sdist";
  out["python_version"] = python_version(file.filename);
  return out;
}

json::array
file_array(const Release& release, std::string_view file_url_prefix)
{
  json::array out;
  out.reserve(release.files.size());
  for (const auto* file : release.files) {
    out.push_back(file_object(*file, file_url_prefix));
  }
  return out;
}

// PyPI's info of `release`. Airlock keeps no core metadata, so every key it cannot fill is
// null (classifiers an empty list, as PyPI never gives null there) rather than guessed.
json::object
info_object(std::string_view name, const Release& release)
{
  json::object info;
  for (const char* key :
       {"author", "author_email", "bugtrack_url", "description", "description_content_type", "docs_url",
        "download_url", "downloads", "dynamic", "home_page", "keywords", "license", "license_expression",
        "license_files", "maintainer", "maintainer_email", "package_url", "platform", "project_url", "project_urls",
        "provides_extra", "release_url", "requires_dist", "summary"}) {
    info[key] = nullptr;
  }
  info["classifiers"] = json::array();
  info["name"] = name;
  info["version"] = release.version;
  std::string_view requires_python;
  for (const auto* file : release.files) {
    if (!file->requires_python.empty()) {
      requires_python = file->requires_python;
      break;
    }
  }
  info["requires_python"] = text_or_null(requires_python);
  const bool yanked = release.yanked();
  info["yanked"] = yanked;
  info["yanked_reason"] = yanked ? text_or_null(*release.files.front()->yanked) : json::value(nullptr);
  return info;
}

// The keys both documents share. last_serial is PyPI's change counter, which Airlock has not:
// 0 keeps the key an integer for the clients that read it.
json::object
document(std::string_view name, const Release& release, std::string_view file_url_prefix)
{
  json::object out;
  out["info"] = info_object(name, release);
  out["last_serial"] = 0;
  out["urls"] = file_array(release, file_url_prefix);
  out["vulnerabilities"] = json::array();
  return out;
}

} // namespace

std::string
render_legacy_project(std::string_view name, std::span<const storage::FileRecord> files)
{
  const auto releases = group_releases(files);
  if (releases.empty()) {
    return {};
  }
  auto out = document(name, pick_latest(releases), k_legacy_project_files);
  json::object by_version;
  for (const auto& release : releases) {
    by_version[release.version] = file_array(release, k_legacy_project_files);
  }
  out["releases"] = std::move(by_version);
  return json::serialize(out);
}

std::optional<std::string>
render_legacy_release(std::string_view name, std::span<const storage::FileRecord> files, std::string_view version)
{
  const auto wanted = policy::Version::parse(version);
  for (const auto& release : group_releases(files)) {
    const bool match = wanted ? release.parsed && *release.parsed == *wanted
                              : std::any_of(release.files.begin(), release.files.end(),
                                            [&](const auto* file) { return file->version == version; });
    if (match) {
      return json::serialize(document(name, release, k_legacy_release_files));
    }
  }
  return std::nullopt;
}

} // namespace airlock::proxy
