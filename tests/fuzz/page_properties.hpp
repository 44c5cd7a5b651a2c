#pragma once

// What every parsed upstream page must satisfy, and the round trip through Airlock's own
// renderer: the page Airlock serves must read back (by the same parser) as the files it lists.

#include "fuzz.hpp"

#include <airlock/policy/filename.hpp>
#include "upstream/simple_parse.hpp"
#include "pages/simple_render.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

namespace airlock::fuzz {

inline constexpr std::string_view k_project = "sample-project";
inline constexpr std::string_view k_page_url = "https://pypi.example/simple/sample-project/";
inline constexpr std::string_view k_served_url = "http://airlock.test/simple/sample-project/";

enum class Fields { html, json };

inline void
check_page(const proxy::UpstreamPage& page)
{
  std::set<std::string> names;
  for (const auto& file : page.files) {
    FUZZ_CHECK(file.project == k_project);
    FUZZ_CHECK(policy::is_safe_filename(file.filename));
    FUZZ_CHECK(names.insert(file.filename).second);
    // The scheme as upstream spelled it ("HTTPS://" too): the upstream client lowercases it.
    const auto check_url = [](const std::string& url) {
      std::string scheme = url.substr(0, url.find("://"));
      std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
      if (scheme != "http" && scheme != "https") {
        FUZZ_CHECK_EQ(url, "an absolute http(s) URL");
      }
      FUZZ_CHECK(url.find('#') == std::string::npos);
    };
    check_url(file.url);
    // PEP 740: "" is "none" (JSON null); anything else is fetched like a file.
    if (file.provenance_url && !file.provenance_url->empty()) {
      check_url(*file.provenance_url);
    }
    if (!file.version.empty()) {
      const auto parsed = policy::parse_filename(file.filename, k_project);
      FUZZ_CHECK(parsed && parsed->version == file.version);
    }
    if (file.filename.ends_with(".whl")) {
      const auto parsed = policy::parse_filename(file.filename);
      FUZZ_CHECK(parsed && parsed->project == k_project);
    }
  }
}

// Renders the parsed files as Airlock serves them and parses that page again.
inline void
check_round_trip(const proxy::UpstreamPage& page, Fields fields)
{
  proxy::ProjectPage served;
  served.name = std::string(k_project);
  served.files = page.files;
  served.file_url_prefix = "../../files/";
  const auto body = fields == Fields::json ? proxy::render_project_json(served) : proxy::render_project_html(served);
  const auto again = fields == Fields::json ? proxy::parse_json_page(body, k_served_url, k_project)
                                            : proxy::parse_html_page(body, k_served_url, k_project);
  if (!again) {
    FUZZ_CHECK_EQ(again.error(), "");
  }
  FUZZ_CHECK_EQ(again->skipped.empty() ? std::string() : again->skipped.front(), "");
  FUZZ_CHECK(again->files.size() == page.files.size());
  auto expected = page.files;
  auto got = again->files;
  const auto by_name = [](const auto& a, const auto& b) { return a.filename < b.filename; };
  std::sort(expected.begin(), expected.end(), by_name);
  std::sort(got.begin(), got.end(), by_name);
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto& a = expected[i];
    const auto& b = got[i];
    FUZZ_CHECK_EQ(a.filename, b.filename);
    FUZZ_CHECK_EQ(a.version, b.version);
    FUZZ_CHECK_EQ(a.sha256, b.sha256);
    FUZZ_CHECK_EQ(a.requires_python, b.requires_python);
    FUZZ_CHECK_EQ(a.yanked, b.yanked);
    FUZZ_CHECK_EQ(a.core_metadata, b.core_metadata);
    if (fields == Fields::json) {
      FUZZ_CHECK_EQ(a.size, b.size);
      FUZZ_CHECK(a.upload_time == b.upload_time);
    }
  }
}

} // namespace airlock::fuzz
