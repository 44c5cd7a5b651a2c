#pragma once

// Private to proxy/: rendering PyPI's legacy JSON API (https://docs.pypi.org/api/json/) of the
// files a project page serves, for tools that read it (Renovate, Dependabot, scripts).

#include <airlock/storage/records.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace airlock::proxy {

// Where /files/ is from each document: /pypi/<project>/json and /pypi/<project>/<version>/json.
inline constexpr std::string_view k_legacy_project_files = "../../files/";
inline constexpr std::string_view k_legacy_release_files = "../../../files/";

// Renders /pypi/<project>/json of `files` (those the project page serves, already filtered):
// info of the newest release as PyPI picks it, every release's files, and that release's
// files as "urls". Metadata Airlock does not have is null.
std::string render_legacy_project(std::string_view name, std::span<const storage::FileRecord> files);
// Renders /pypi/<project>/<version>/json: the files of the release `version` names (equal
// under PEP 440); nullopt when no file in `files` belongs to it.
std::optional<std::string> render_legacy_release(std::string_view name, std::span<const storage::FileRecord> files,
                                                 std::string_view version);

} // namespace airlock::proxy
