// PEP 691 JSON project pages from upstream: parsed with bounded depth, every file entry checked
// as the HTML parser checks it.
#include "upstream/simple_parse.hpp"

#include "upstream/page_builder.hpp"

#include <airlock/policy/filename.hpp>
#include <airlock/util/utf8.hpp>
#include <airlock/util/assert.hpp>

#include <fmt/core.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <span>

#include <boost/json.hpp>
#include <boost/url.hpp>

namespace airlock::proxy {

using namespace page;

namespace {

// Real pages nest four levels deep; a hostile, deeply nested body becomes an error before the
// tree it builds can cost stack (destroying a value recurses) or memory.
constexpr std::size_t k_max_json_depth = 32;

std::string_view
sv(const boost::json::string& s)
{
  return {s.data(), s.size()};
}

// Everything about one file entry, in either format, before the checks common to both.

// PEP 714: only a declared hash lets Airlock verify (and so serve) the metadata file; `true`, a
// dict without a usable sha256, or anything else means "none Airlock can use".
std::optional<Sha256>
json_core_metadata(const boost::json::object& entry)
{
  for (const auto* key : {"core-metadata", "data-dist-info-metadata", "dist-info-metadata"}) {
    const auto* value = entry.if_contains(key);
    if (value == nullptr || value->is_null()) {
      continue;
    }
    const auto* dict = value->if_object();
    if (dict == nullptr) {
      return std::nullopt;
    }
    const auto* hash = dict->if_contains("sha256");
    if (hash == nullptr || !hash->is_string()) {
      return std::nullopt;
    }
    return Sha256::from_hex(sv(hash->get_string()));
  }
  return std::nullopt;
}

// Fills `out` from a JSON file entry; returns why the entry is unusable. A field that is present
// with the wrong type makes the whole entry suspect, so it is skipped rather than half-read;
// JSON null counts as absent, as PyPI writes "requires-python": null.
std::optional<std::string>
read_json_file(const boost::json::object& entry, const PageBuilder& builder, Candidate& out)
{
  const auto* url = entry.if_contains("url");
  if (url == nullptr || !url->is_string()) {
    return "\"url\" missing or not a string";
  }
  auto resolved = builder.resolve(sv(url->get_string()));
  if (!resolved) {
    return resolved.error();
  }
  out.url = std::move(resolved->url);

  const auto* hashes = entry.if_contains("hashes");
  if (hashes == nullptr || !hashes->is_object()) {
    return "\"hashes\" missing or not an object";
  }
  const auto* sha256 = hashes->get_object().if_contains("sha256");
  if (sha256 == nullptr) {
    return "no sha256 hash";
  }
  const auto digest =
    sha256->is_string() ? Sha256::from_hex(sv(sha256->get_string())) : std::nullopt;
  if (!digest) {
    return "invalid sha256 hash";
  }
  out.sha256 = *digest;

  if (const auto* size = entry.if_contains("size"); size != nullptr && !size->is_null()) {
    if (size->is_uint64()) {
      out.size = size->get_uint64();
    } else if (size->is_int64() && size->get_int64() >= 0) {
      out.size = static_cast<std::uint64_t>(size->get_int64());
    } else {
      return "\"size\" is not a non-negative integer";
    }
  }

  if (const auto* time = entry.if_contains("upload-time"); time != nullptr && !time->is_null()) {
    out.upload_time = time->is_string() ? parse_rfc3339(sv(time->get_string())) : std::nullopt;
    if (!out.upload_time) {
      return "\"upload-time\" is not an RFC 3339 time";
    }
  }

  if (const auto* rp = entry.if_contains("requires-python"); rp != nullptr && !rp->is_null()) {
    // The limit applies to the cleaned text too (which only grows), as Airlock serves that.
    if (!rp->is_string() || rp->get_string().size() > k_max_requires_python) {
      return "\"requires-python\" is not a string of at most 1024 bytes";
    }
    out.requires_python = clean_text(sv(rp->get_string()));
    if (out.requires_python.size() > k_max_requires_python) {
      return "\"requires-python\" is not a string of at most 1024 bytes";
    }
  }

  if (const auto* yanked = entry.if_contains("yanked"); yanked != nullptr && !yanked->is_null()) {
    if (yanked->is_bool()) {
      if (yanked->get_bool()) {
        out.yanked = std::string();
      }
    } else if (yanked->is_string()) {
      out.yanked = bounded(clean_text(sv(yanked->get_string())), k_max_reason);
    } else {
      return "\"yanked\" is neither a boolean nor a string";
    }
  }

  out.core_metadata = json_core_metadata(entry);

  // PEP 740: the URL of the file's provenance, or null for none (unlike the fields above,
  // null here says something: there is no provenance to look for).
  if (const auto* provenance = entry.if_contains("provenance"); provenance != nullptr) {
    if (provenance->is_null()) {
      out.provenance_url = std::string();
    } else if (provenance->is_string()) {
      auto resolved_provenance = builder.resolve(sv(provenance->get_string()));
      if (!resolved_provenance) {
        return "\"provenance\": " + resolved_provenance.error();
      }
      out.provenance_url = std::move(resolved_provenance->url);
    } else {
      return "\"provenance\" is neither a URL nor null";
    }
  }
  return std::nullopt;
}

void
read_json_status(const boost::json::object& root, UpstreamPage& page)
{
  // PEP 792 puts "project-status" at the top level of the project page. It is advisory, so a
  // malformed one is ignored rather than failing the page.
  const auto* status = root.if_contains("project-status");
  if (status == nullptr || !status->is_object()) {
    return;
  }
  const auto& dict = status->get_object();
  const auto* value = dict.if_contains("status");
  if (value == nullptr || !value->is_string()) {
    return;
  }
  page.status = bounded(clean_text(sv(value->get_string())), k_max_reason);
  if (const auto* reason = dict.if_contains("reason"); reason != nullptr && reason->is_string()) {
    page.status_reason = bounded(clean_text(sv(reason->get_string())), k_max_reason);
  }
}

} // namespace

Expected<UpstreamPage>
parse_json_page(std::string_view body, std::string_view page_url, std::string_view project)
{
  if (auto ok = check_body_size(body); !ok) {
    return make_unexpected(ok.error());
  }
  const auto base = parse_page_url(page_url);
  if (!base) {
    return make_unexpected(base.error());
  }

  boost::json::parse_options options;
  options.max_depth = k_max_json_depth;
  boost::json::monotonic_resource resource;
  boost::system::error_code ec;
  const auto document = boost::json::parse(body, ec, &resource, options);
  if (ec) {
    return make_unexpected(fmt::format("not JSON: {}", ec.message()));
  }
  const auto* root = document.if_object();
  if (root == nullptr) {
    return make_unexpected("JSON page is not an object");
  }
  const auto* meta = root->if_contains("meta");
  const auto* api_version =
    meta != nullptr && meta->is_object() ? meta->get_object().if_contains("api-version") : nullptr;
  if (api_version == nullptr || !api_version->is_string()) {
    return make_unexpected("JSON page has no meta.api-version string");
  }
  if (!is_api_version_1(sv(api_version->get_string()))) {
    return make_unexpected(fmt::format("unsupported api-version \"{}\"",
                                       printable(sv(api_version->get_string()))));
  }
  if (const auto* name = root->if_contains("name"); name != nullptr) {
    if (!name->is_string() || policy::normalize_project_name(sv(name->get_string())) != project) {
      return make_unexpected(fmt::format("JSON page is not for project \"{}\"", project));
    }
  }
  const auto* files = root->if_contains("files");
  if (files == nullptr || !files->is_array()) {
    return make_unexpected("JSON page has no \"files\" array");
  }
  const auto& entries = files->get_array();
  if (entries.size() > k_max_files_per_page) {
    return make_unexpected(fmt::format(
      "page lists {} files, over the limit of {}", entries.size(), k_max_files_per_page));
  }

  PageBuilder builder(*base, project);
  builder.page().files.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto* entry = entries[i].if_object();
    if (entry == nullptr) {
      builder.skip_entry(i, "not an object");
      continue;
    }
    const auto* filename = entry->if_contains("filename");
    if (filename == nullptr || !filename->is_string()) {
      builder.skip_entry(i, "\"filename\" missing or not a string");
      continue;
    }
    Candidate candidate;
    candidate.filename = std::string(sv(filename->get_string()));
    if (auto why = read_json_file(*entry, builder, candidate)) {
      builder.skip(candidate.filename, *why);
      continue;
    }
    builder.add(std::move(candidate));
  }
  read_json_status(*root, builder.page());
  return std::move(builder.page());
}

} // namespace airlock::proxy
