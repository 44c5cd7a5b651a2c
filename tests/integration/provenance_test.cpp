// Provenance and contents end to end: real PEP 740 provenance from the shared fixtures,
// verified offline by the background checks, and wheels whose .pth files change.

#include "review_fixture.hpp"

#include <airlock/tuf/repository.hpp>

#include <thread>

namespace airlock::test {
namespace {

namespace json = boost::json;

const std::filesystem::path k_fixtures = "fixtures/provenance";

class ProvenanceTest : public ReviewTest
{
protected:
  void SetUp() override
  {
    ASSERT_GE(sodium_init(), 0);
    fixtures = shared_dir() / k_fixtures;
    if (!std::filesystem::exists(fixtures / "fixtures.json")) {
      if (std::getenv("CI") != nullptr) {
        FAIL() << "provenance fixtures missing at " << fixtures << " (CI needs ../shared beside the checkout)";
      }
      GTEST_SKIP() << "provenance fixtures missing at " << fixtures << "; put ../shared beside the checkout";
    }
    listed_project.clear(); // each test lists its own projects
    configure = [this](proxy::Config& config) {
      config.provenance.trusted_root = fixtures / "trust" / "trusted_root.prod.json";
    };
  }

  // The real sdist and its real provenance, uploaded `age` ago.
  FakeFile attested(std::chrono::seconds age)
  {
    FakeFile file;
    file.filename = "pypi_attestations-0.0.19.tar.gz";
    file.content = read_file(fixtures / "prod" / file.filename);
    file.provenance = read_file(fixtures / "prod" / (file.filename + ".provenance"));
    file.upload_time = k_now - age;
    return file;
  }

  json::object file_status(const std::string& project, const std::string& filename)
  {
    const auto status = json::parse(api("GET", "/projects/" + project, reader).body);
    for (const auto& file : status.at("files").as_array()) {
      if (file.at("filename").as_string() == filename) {
        return file.as_object();
      }
    }
    ADD_FAILURE() << filename << " not in the status of " << project;
    return {};
  }

  std::filesystem::path fixtures;
};

TEST_F(ProvenanceTest, AttestedReleaseIsApprovedWithItsPublisherAndTheNextWithoutIsHeld)
{
  upstream.add_file("pypi-attestations", attested(std::chrono::days{10}));
  auto next = old_file("pypi_attestations-0.0.20.tar.gz", 7);
  next.upload_time = k_now - std::chrono::days{8}; // past the window; no provenance upstream
  upstream.add_file("pypi-attestations", next);
  start_with_tokens();
  (void)json_page("pypi-attestations");

  const auto verified = file_status("pypi-attestations", "pypi_attestations-0.0.19.tar.gz");
  EXPECT_EQ(verified.at("state").as_string(), "approved") << verified.at("reason").as_string();
  const auto& provenance = verified.at("provenance").as_object();
  EXPECT_EQ(provenance.at("status").as_string(), "verified");
  EXPECT_EQ(provenance.at("publisher").at("kind").as_string(), "GitHub");
  EXPECT_EQ(provenance.at("publisher").at("repository").as_string(), "trailofbits/pypi-attestations");
  EXPECT_EQ(provenance.at("publisher").at("workflow").as_string(), "release.yml");

  const auto regressed = file_status("pypi-attestations", "pypi_attestations-0.0.20.tar.gz");
  EXPECT_EQ(regressed.at("state").as_string(), "held");
  EXPECT_NE(std::string(regressed.at("reason").as_string()).find("provenance regression"), std::string::npos)
    << regressed.at("reason").as_string();
  EXPECT_EQ(filenames(json_page("pypi-attestations")),
            std::vector<std::string>{"pypi_attestations-0.0.19.tar.gz"});

  // The verified provenance is served and advertised, for the verified file only.
  const auto page = json::parse(json_page("pypi-attestations").body);
  const auto& entry = page.at("files").as_array().at(0).as_object();
  EXPECT_EQ(entry.at("provenance").as_string(),
            "../../integrity/pypi-attestations/0.0.19/pypi_attestations-0.0.19.tar.gz/provenance");
  const auto served =
    http_get(port, "/integrity/pypi-attestations/0.0.19/pypi_attestations-0.0.19.tar.gz/provenance");
  EXPECT_EQ(served.status, 200u);
  EXPECT_EQ(served.body, *attested(std::chrono::days{10}).provenance);
  EXPECT_EQ(http_get(port, "/integrity/pypi-attestations/0.0.20/pypi_attestations-0.0.20.tar.gz/provenance").status,
            404u);
}

// Bypass 3: an attacker with a stolen token uploads twice without provenance. The second is
// compared with the last verified release, not with the first upload, which proves nothing.
TEST_F(ProvenanceTest, TwoReleasesInARowWithoutProvenanceAreBothHeld)
{
  upstream.add_file("pypi-attestations", attested(std::chrono::days{12}));
  for (const auto& [filename, days] : {std::pair{"pypi_attestations-0.0.20.tar.gz", 10}, {"pypi_attestations-0.0.21.tar.gz", 9}}) {
    auto unsigned_upload = old_file(filename, days);
    unsigned_upload.upload_time = k_now - std::chrono::days{days}; // past the window
    upstream.add_file("pypi-attestations", unsigned_upload);
  }
  start_with_tokens();
  (void)json_page("pypi-attestations");
  for (const char* filename : {"pypi_attestations-0.0.20.tar.gz", "pypi_attestations-0.0.21.tar.gz"}) {
    const auto status = file_status("pypi-attestations", filename);
    EXPECT_EQ(status.at("state").as_string(), "held") << filename << ": " << status.at("reason").as_string();
    EXPECT_NE(std::string(status.at("reason").as_string()).find("0.0.19 was published with verified provenance"),
              std::string::npos)
      << status.at("reason").as_string();
  }
  EXPECT_EQ(filenames(json_page("pypi-attestations")),
            std::vector<std::string>{"pypi_attestations-0.0.19.tar.gz"});
  // A reviewer who approves 0.0.20 as it is makes it the baseline: 0.0.21 then compares with it.
  const auto body = json::serialize(json::object{{"project", "pypi-attestations"},
                                                 {"version", "0.0.20"},
                                                 {"reason", "maintainers moved publishing off GitHub"}});
  ASSERT_EQ(api("POST", "/approve", reviewer, body).status, 200u);
  EXPECT_EQ(file_status("pypi-attestations", "pypi_attestations-0.0.21.tar.gz").at("state").as_string(),
            "approved");
}

TEST_F(ProvenanceTest, TheListingsProvenanceKeyIsFollowed)
{
  // PEP 740: the page says where the provenance is, or that there is none (null).
  auto moved = attested(std::chrono::days{10});
  moved.provenance_key = ProvenanceKey::moved;
  upstream.add_file("pypi-attestations", moved);
  auto none = old_file("pypi_attestations-0.0.18.tar.gz", 8);
  none.upload_time = k_now - std::chrono::days{20};
  none.provenance = moved.provenance; // at the Integrity API path, which the listing overrules
  none.provenance_key = ProvenanceKey::null;
  upstream.add_file("pypi-attestations", none);
  start_with_tokens();
  (void)json_page("pypi-attestations");

  const auto verified = file_status("pypi-attestations", moved.filename);
  EXPECT_EQ(verified.at("provenance").at("status").as_string(), "verified");
  EXPECT_EQ(upstream.file_requests(moved.filename + ".attestations"), 1);
  EXPECT_EQ(upstream.file_requests(moved.filename + ".provenance"), 0) << "the Integrity API path was not asked";

  const auto absent = file_status("pypi-attestations", none.filename);
  EXPECT_EQ(absent.at("provenance").at("status").as_string(), "absent");
  EXPECT_EQ(upstream.file_requests(none.filename + ".provenance"), 0) << "null means: nothing to fetch";

  // The same from an HTML page (data-provenance).
  stop();
  upstream.set_page_behaviour("html-attested", PageBehaviour::html);
  auto html = attested(std::chrono::days{10});
  html.provenance_key = ProvenanceKey::moved;
  upstream.add_file("html-attested", html);
  start_with_tokens();
  (void)json_page("html-attested");
  EXPECT_EQ(upstream.file_requests(html.filename + ".attestations"), 2); // once per project
}

// A snapshot page shows verified provenance. A check that ends after the snapshot was taken
// changes the page (it gains the provenance URL): the TUF metadata must follow, or clients
// that verify would refuse a page Airlock serves.
TEST_F(ProvenanceTest, ASnapshotPageChangedByALaterCheckIsSignedAgain)
{
  auto file = attested(std::chrono::days{40}); // established history: approved on age
  file.behaviour = FileBehaviour::error_500;   // its provenance cannot be fetched yet
  upstream.add_file("pypi-attestations", file);
  ASSERT_TRUE(tuf::Repository::init(dir.path() / "data" / "tuf", clock.now()));
  listed_project = "pypi-attestations";
  start_with_tokens();
  ASSERT_EQ(api("POST", "/snapshots", admin, R"({"name": "ci"})").status, 201u);
  const std::string page_path = "/snapshots/ci/simple/pypi-attestations/";
  const Headers accept_json{{"Accept", "application/vnd.pypi.simple.v1+json"}};
  const auto before = http_get(port, page_path, accept_json);
  ASSERT_EQ(filenames(before), std::vector<std::string>{file.filename});
  EXPECT_EQ(before.body.find("/provenance"), std::string::npos) << before.body;

  // Upstream recovers; after the retry delay and the listing's refresh the check runs again.
  upstream.set_file_behaviour(file.filename, FileBehaviour::normal);
  clock.advance(std::chrono::minutes{11});
  (void)json_page("pypi-attestations");
  ASSERT_TRUE(server->wait_for_checks());
  EXPECT_EQ(file_status("pypi-attestations", file.filename).at("provenance").at("status").as_string(), "verified");
  const auto after = http_get(port, page_path, accept_json);
  ASSERT_NE(after.body.find("/provenance"), std::string::npos) << after.body;

  EXPECT_EQ(wait_until_signed("snapshots/ci/simple/pypi-attestations/index.json", after.body), "");
}

TEST_F(ProvenanceTest, TamperedAttestationIsHeld)
{
  auto file = attested(std::chrono::days{10});
  auto document = json::parse(*file.provenance);
  auto& signature = document.at("attestation_bundles").at(0).at("attestations").at(0).at("envelope").at("signature");
  std::string text(signature.as_string());
  text[10] = text[10] == 'A' ? 'B' : 'A';
  signature = text;
  file.provenance = json::serialize(document);
  upstream.add_file("pypi-attestations", file);
  start_with_tokens();
  (void)json_page("pypi-attestations");
  const auto status = file_status("pypi-attestations", file.filename);
  EXPECT_EQ(status.at("state").as_string(), "held");
  EXPECT_EQ(status.at("provenance").at("status").as_string(), "invalid");
  EXPECT_TRUE(filenames(json_page("pypi-attestations")).empty());
}

TEST_F(ProvenanceTest, NewExecutablePthIsHeldButOneThatShippedBeforeIsNot)
{
  const std::string precedence = "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, "
                                 "'local') == 'local'; enabled and __import__('_distutils_hack').add_shim(); \n";
  const auto wheel = [&](const std::string& filename, int seed, std::vector<std::pair<std::string, std::string>> extra,
                         std::chrono::seconds age) {
    FakeFile file;
    file.filename = filename;
    file.content = make_wheel(20'000, seed, extra);
    file.upload_time = k_now - age;
    return file;
  };
  upstream.add_file("setuptools", wheel("setuptools-70.0-py3-none-any.whl", 1,
                                        {{"distutils-precedence.pth", precedence}}, std::chrono::days{10}));
  upstream.add_file("setuptools", wheel("setuptools-71.0-py3-none-any.whl", 2,
                                        {{"distutils-precedence.pth", precedence}}, std::chrono::days{8}));
  upstream.add_file("litellm", wheel("litellm-1.82.7-py3-none-any.whl", 3, {}, std::chrono::days{10}));
  upstream.add_file("litellm", wheel("litellm-1.82.8-py3-none-any.whl", 4,
                                     {{"litellm_init.pth", "import os, base64; exec(base64.b64decode('...'))\n"}},
                                     std::chrono::days{8}));
  start_with_tokens();
  (void)json_page("setuptools"); // lists them and waits for their checks
  (void)json_page("litellm");
  EXPECT_EQ(filenames(json_page("setuptools")).size(), 2u) << "setuptools ships its .pth in every release";
  const auto held = file_status("litellm", "litellm-1.82.8-py3-none-any.whl");
  EXPECT_EQ(held.at("state").as_string(), "held");
  EXPECT_NE(std::string(held.at("reason").as_string()).find("litellm_init.pth"), std::string::npos)
    << held.at("reason").as_string();
  EXPECT_EQ(held.at("contents").at("executable_pth").as_array().size(), 1u);
  EXPECT_EQ(filenames(json_page("litellm")), std::vector<std::string>{"litellm-1.82.7-py3-none-any.whl"});
  EXPECT_GE(upstream.range_requests("litellm-1.82.8-py3-none-any.whl"), 1) << "read with Range requests";
  EXPECT_EQ(upstream.file_requests("litellm-1.82.8-py3-none-any.whl"), 0) << "never downloaded whole";
}

} // namespace
} // namespace airlock::test
