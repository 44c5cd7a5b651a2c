#include <airlock/policy/filename.hpp>

#include <gtest/gtest.h>

#include <string>

using airlock::policy::DistributionKind;
using airlock::policy::is_safe_filename;
using airlock::policy::is_valid_project_name;
using airlock::policy::normalize_project_name;
using airlock::policy::parse_filename;

namespace {

// "kind project version" or "unparsed": one string per case keeps the tables readable.
std::string
parsed(std::string_view filename, std::string_view expected_project = {})
{
  const auto result = parse_filename(filename, expected_project);
  if (!result) {
    return "unparsed";
  }
  return std::string(result->kind == DistributionKind::wheel ? "wheel " : "sdist ")
         + result->project + " " + result->version;
}

} // namespace

TEST(NormalizeProjectName, Pep503Examples)
{
  EXPECT_EQ(normalize_project_name("friendly-bard"), "friendly-bard");
  EXPECT_EQ(normalize_project_name("Friendly-Bard"), "friendly-bard");
  EXPECT_EQ(normalize_project_name("FRIENDLY-BARD"), "friendly-bard");
  EXPECT_EQ(normalize_project_name("friendly.bard"), "friendly-bard");
  EXPECT_EQ(normalize_project_name("friendly_bard"), "friendly-bard");
  EXPECT_EQ(normalize_project_name("friendly--bard"), "friendly-bard");
  EXPECT_EQ(normalize_project_name("FrIeNdLy-._.-bArD"), "friendly-bard");
}

TEST(NormalizeProjectName, EdgesAndIdempotence)
{
  EXPECT_EQ(normalize_project_name(""), "");
  EXPECT_EQ(normalize_project_name("A"), "a");
  EXPECT_EQ(normalize_project_name("_a_"), "-a-");
  EXPECT_EQ(normalize_project_name("zope.interface"), "zope-interface");
  EXPECT_EQ(normalize_project_name("PyYAML"), "pyyaml");
  for (const auto* name : {"Django_REST.framework", "a..b", "x-_-y"}) {
    const auto once = normalize_project_name(name);
    EXPECT_EQ(normalize_project_name(once), once) << name;
  }
}

TEST(IsValidProjectName, AcceptsPep508Names)
{
  EXPECT_TRUE(is_valid_project_name("a"));
  EXPECT_TRUE(is_valid_project_name("7"));
  EXPECT_TRUE(is_valid_project_name("requests"));
  EXPECT_TRUE(is_valid_project_name("zope.interface"));
  EXPECT_TRUE(is_valid_project_name("typing_extensions"));
  EXPECT_TRUE(is_valid_project_name("Django-REST-framework"));
  EXPECT_TRUE(is_valid_project_name(std::string(200, 'x')));
}

TEST(IsValidProjectName, RejectsEverythingElse)
{
  EXPECT_FALSE(is_valid_project_name(""));
  EXPECT_FALSE(is_valid_project_name("-a"));
  EXPECT_FALSE(is_valid_project_name("a-"));
  EXPECT_FALSE(is_valid_project_name(".a"));
  EXPECT_FALSE(is_valid_project_name("a_"));
  EXPECT_FALSE(is_valid_project_name("a b"));
  EXPECT_FALSE(is_valid_project_name("a/b"));
  EXPECT_FALSE(is_valid_project_name("a+b"));
  EXPECT_FALSE(is_valid_project_name("caf\xc3\xa9"));
  EXPECT_FALSE(is_valid_project_name(std::string("a\0b", 3)));
  EXPECT_FALSE(is_valid_project_name(std::string(201, 'x')));
}

TEST(ParseFilename, Wheels)
{
  EXPECT_EQ(parsed("requests-2.31.0-py3-none-any.whl"), "wheel requests 2.31.0");
  EXPECT_EQ(parsed("litellm-1.82.7-py3-none-any.whl"), "wheel litellm 1.82.7");
  EXPECT_EQ(parsed("typing_extensions-4.12.2-py3-none-any.whl"), "wheel typing-extensions 4.12.2");
  EXPECT_EQ(parsed("PyYAML-6.0.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
            "wheel pyyaml 6.0.1");
  EXPECT_EQ(parsed("zope.interface-6.0-cp39-cp39-win_amd64.whl"), "wheel zope-interface 6.0");
  EXPECT_EQ(parsed("numpy-2.0.0rc1-cp312-cp312-macosx_14_0_arm64.whl"), "wheel numpy 2.0.0rc1");
  EXPECT_EQ(parsed("six-1.16.0-py2.py3-none-any.whl"), "wheel six 1.16.0");
  EXPECT_EQ(parsed("pkg-1!2.0+local.1-py3-none-any.whl"), "wheel pkg 1!2.0+local.1");
}

TEST(ParseFilename, WheelBuildTag)
{
  EXPECT_EQ(parsed("distribution-1.0-1-py27-none-any.whl"), "wheel distribution 1.0");
  EXPECT_EQ(parsed("tensorflow-2.1.0-1_abc-cp37-cp37m-linux_x86_64.whl"), "wheel tensorflow 2.1.0");
  // A build tag must start with a digit.
  EXPECT_EQ(parsed("distribution-1.0-x1-py27-none-any.whl"), "unparsed");
}

TEST(ParseFilename, WheelsIgnoreTheExpectedProject)
{
  // A wheel names its project unambiguously; the caller compares.
  EXPECT_EQ(parsed("evil-1.0-py3-none-any.whl", "requests"), "wheel evil 1.0");
}

TEST(ParseFilename, MalformedWheels)
{
  EXPECT_EQ(parsed(".whl"), "unparsed");
  EXPECT_EQ(parsed("requests.whl"), "unparsed");
  EXPECT_EQ(parsed("requests-2.31.0.whl"), "unparsed");
  EXPECT_EQ(parsed("requests-2.31.0-py3-none.whl"), "unparsed");
  EXPECT_EQ(parsed("requests-2.31.0-1-2-py3-none-any.whl"), "unparsed");
  EXPECT_EQ(parsed("requests--py3-none-any.whl"), "unparsed");
  EXPECT_EQ(parsed("requests-latest-py3-none-any.whl"), "unparsed");
  EXPECT_EQ(parsed("-2.31.0-py3-none-any.whl"), "unparsed");
  EXPECT_EQ(parsed("requests-2.31.0-py3--any.whl"), "unparsed");
  EXPECT_EQ(parsed("requests-2.31.0-py3-none-an$y.whl"), "unparsed");
  EXPECT_EQ(parsed("../requests-2.31.0-py3-none-any.whl"), "unparsed");
  EXPECT_EQ(parsed("requests-2.31.0-py3-none-any.whl.exe"), "unparsed");
}

TEST(ParseFilename, SdistsEveryExtension)
{
  EXPECT_EQ(parsed("requests-2.31.0.tar.gz"), "sdist requests 2.31.0");
  EXPECT_EQ(parsed("requests-2.31.0.zip"), "sdist requests 2.31.0");
  EXPECT_EQ(parsed("requests-2.31.0.tar.bz2"), "sdist requests 2.31.0");
  EXPECT_EQ(parsed("requests-2.31.0.tar.xz"), "sdist requests 2.31.0");
  EXPECT_EQ(parsed("requests-2.31.0.tgz"), "sdist requests 2.31.0");
  EXPECT_EQ(parsed("requests-2.31.0.tar"), "sdist requests 2.31.0");
  EXPECT_EQ(parsed("requests-2.31.0.tar.lz"), "unparsed");
  EXPECT_EQ(parsed("requests-2.31.0.egg"), "unparsed");
  EXPECT_EQ(parsed("requests-2.31.0.exe"), "unparsed");
}

TEST(ParseFilename, SdistWithDashedNameUsesTheExpectedProject)
{
  EXPECT_EQ(parsed("django-rest-framework-3.15.0.tar.gz", "django-rest-framework"),
            "sdist django-rest-framework 3.15.0");
  EXPECT_EQ(parsed("Django_REST.framework-3.15.0.tar.gz", "django-rest-framework"),
            "sdist django-rest-framework 3.15.0");
  // PEP 625 names, and a legacy version with a dash of its own.
  EXPECT_EQ(parsed("foo_bar-1.0.tar.gz", "foo-bar"), "sdist foo-bar 1.0");
  EXPECT_EQ(parsed("foo-bar-1.0-r1.tar.gz", "foo-bar"), "sdist foo-bar 1.0-r1");
  // A name that merely starts like the expected project is not split there.
  EXPECT_EQ(parsed("foo-bar-1.0.tar.gz", "foo"), "unparsed");
  EXPECT_EQ(parsed("other-1.0.tar.gz", "foo"), "unparsed");
  EXPECT_EQ(parsed("foo-.tar.gz", "foo"), "unparsed");
  EXPECT_EQ(parsed("foo-1.0.tar.gz", "foo"), "sdist foo 1.0");
}

TEST(ParseFilename, SdistWithoutExpectedProjectSplitsAtLastDashBeforeADigit)
{
  EXPECT_EQ(parsed("django-rest-framework-3.15.0.tar.gz"), "sdist django-rest-framework 3.15.0");
  EXPECT_EQ(parsed("python-dateutil-2.9.0.post0.tar.gz"), "sdist python-dateutil 2.9.0.post0");
  EXPECT_EQ(parsed("pkg-2-1.0.tar.gz"), "sdist pkg-2 1.0");
  EXPECT_EQ(parsed("v-v1.0.tar.gz"), "unparsed"); // 'v' is not a digit
  EXPECT_EQ(parsed("noversion.tar.gz"), "unparsed");
  EXPECT_EQ(parsed("-1.0.tar.gz"), "unparsed");
  EXPECT_EQ(parsed("name_-1.0.tar.gz"), "unparsed");
}

TEST(ParseFilename, UnsafeNamesNeverParse)
{
  EXPECT_EQ(parsed("requests-2.31.0.tar.gz/../x.tar.gz"), "unparsed");
  EXPECT_EQ(parsed(std::string("requests-2.31.0\0.tar.gz", 23)), "unparsed");
  EXPECT_EQ(parsed("requests 2.31.0.tar.gz"), "unparsed");
}

TEST(IsSafeFilename, AcceptsRealFilenames)
{
  EXPECT_TRUE(is_safe_filename("requests-2.31.0-py3-none-any.whl"));
  EXPECT_TRUE(is_safe_filename("pkg-1!2.0+local.1-py3-none-any.whl"));
  EXPECT_TRUE(is_safe_filename("a"));
  EXPECT_TRUE(is_safe_filename("..."));
  EXPECT_TRUE(is_safe_filename(".hidden"));
  EXPECT_TRUE(is_safe_filename("name(1)~&'=@,;.zip"));
  EXPECT_TRUE(is_safe_filename(std::string(255, 'a')));
}

TEST(IsSafeFilename, RejectsTraversalControlsAndUrlSpecials)
{
  EXPECT_FALSE(is_safe_filename(""));
  EXPECT_FALSE(is_safe_filename("."));
  EXPECT_FALSE(is_safe_filename(".."));
  EXPECT_FALSE(is_safe_filename("../etc/passwd"));
  EXPECT_FALSE(is_safe_filename("a/b"));
  EXPECT_FALSE(is_safe_filename("a\\b"));
  EXPECT_FALSE(is_safe_filename(std::string("a\0b", 3)));
  EXPECT_FALSE(is_safe_filename("a\nb"));
  EXPECT_FALSE(is_safe_filename("a\rb"));
  EXPECT_FALSE(is_safe_filename("a\tb"));
  EXPECT_FALSE(is_safe_filename("a\x7f"));
  EXPECT_FALSE(is_safe_filename("a b"));
  EXPECT_FALSE(is_safe_filename("caf\xc3\xa9.zip"));
  EXPECT_FALSE(is_safe_filename("\xff"));
  for (const char c : std::string_view("\"#%<>?[]^`{|}")) {
    EXPECT_FALSE(is_safe_filename(std::string("a") + c + "b")) << c;
  }
  EXPECT_FALSE(is_safe_filename(std::string(256, 'a')));
}
