#include <airlock/policy/version.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

using airlock::policy::SpecifierSet;
using airlock::policy::Version;

namespace {

// Parses a version the test knows is valid; a typo in a table fails loudly, not as a crash.
Version
v(std::string_view text)
{
  const auto version = Version::parse(text);
  EXPECT_TRUE(version.has_value()) << "not a version: \"" << text << "\"";
  return version.value_or(*Version::parse("0"));
}

// The normalized form, or "invalid".
std::string
normalize(std::string_view text)
{
  const auto version = Version::parse(text);
  return version ? version->normalized() : "invalid";
}

// The error message for a specifier that must not parse.
std::string
specifier_error(std::string_view text)
{
  const auto set = SpecifierSet::parse(text);
  return set ? "parsed" : set.error();
}

// Whether `spec` parses and admits `version`.
bool
admits(std::string_view spec, std::string_view version)
{
  const auto set = SpecifierSet::parse(spec);
  EXPECT_TRUE(set.has_value()) << spec << ": " << (set ? "" : set.error());
  return set && set->contains(v(version));
}

struct NormalizationCase
{
  std::string_view input;
  std::string_view normalized;
};

} // namespace

TEST(VersionParse, Normalizes)
{
  const NormalizationCase cases[] = {
    // Release segments: integers, leading zeros dropped, trailing zeros kept.
    {"1", "1"},
    {"1.0", "1.0"},
    {"1.0.0", "1.0.0"},
    {"1.82.7", "1.82.7"},
    {"1.01", "1.1"},
    {"1.01.002", "1.1.2"},
    {"00", "0"},
    {"0000000000000000000000000001", "1"},
    {"2024.10.1.3.4", "2024.10.1.3.4"},
    // Leading v, case, surrounding whitespace.
    {"v1.0", "1.0"},
    {"V1.0", "1.0"},
    {" 1.0", "1.0"},
    {"1.0 ", "1.0"},
    {" \t1.0\r\n", "1.0"},
    // Epochs.
    {"1!1.0", "1!1.0"},
    {"0!1.0", "1.0"},
    {"01!1", "1!1"},
    {"v1!1.0", "1!1.0"},
    {"2!1.0+local.7", "2!1.0+local.7"},
    // Pre-releases: spellings, separators, implicit number.
    {"1.0a1", "1.0a1"},
    {"1.0alpha1", "1.0a1"},
    {"1.0ALPHA1", "1.0a1"},
    {"1.0b2", "1.0b2"},
    {"1.0beta2", "1.0b2"},
    {"1.0c3", "1.0rc3"},
    {"1.0rc3", "1.0rc3"},
    {"1.0pre3", "1.0rc3"},
    {"1.0preview3", "1.0rc3"},
    {"v1.0RC1", "1.0rc1"},
    {"1.0-a1", "1.0a1"},
    {"1.0_a1", "1.0a1"},
    {"1.0.a1", "1.0a1"},
    {"1.0a.1", "1.0a1"},
    {"1.0a-1", "1.0a1"},
    {"1.0a_1", "1.0a1"},
    {"1.0.rc.1", "1.0rc1"},
    {"1.0a", "1.0a0"},
    {"1.0b", "1.0b0"},
    {"1.0rc", "1.0rc0"},
    {"1.0alpha", "1.0a0"},
    {"1.0pre", "1.0rc0"},
    {"1.0a.", "1.0a0"},
    {"1.0a01", "1.0a1"},
    // Post-releases: spellings, separators, implicit number, the "-N" form.
    {"1.0.post1", "1.0.post1"},
    {"1.0post1", "1.0.post1"},
    {"1.0-post1", "1.0.post1"},
    {"1.0_post_3", "1.0.post3"},
    {"1.0.post-2", "1.0.post2"},
    {"1.0.POST1", "1.0.post1"},
    {"1.0.rev1", "1.0.post1"},
    {"1.0r1", "1.0.post1"},
    {"1.0.r.1", "1.0.post1"},
    {"1.0.post", "1.0.post0"},
    {"1.0rev", "1.0.post0"},
    {"1.0-r", "1.0.post0"},
    {"1.0.post.", "1.0.post0"},
    {"1.0-1", "1.0.post1"},
    {"1.0-01", "1.0.post1"},
    {"1.0a1-1", "1.0a1.post1"},
    {"1.0a--5", "1.0a0.post5"},
    // Dev releases.
    {"1.0.dev1", "1.0.dev1"},
    {"1.0dev1", "1.0.dev1"},
    {"1.0-dev1", "1.0.dev1"},
    {"1.0_dev_1", "1.0.dev1"},
    {"1.0.DEV", "1.0.dev0"},
    {"1.0dev-", "1.0.dev0"},
    {"1.0-1.dev1", "1.0.post1.dev1"},
    {"1.0-1-dev", "1.0.post1.dev0"},
    {"1.0a..dev", "1.0a0.dev0"},
    {"1.0rc1.post2.dev3", "1.0rc1.post2.dev3"},
    {"1.0RC1-post2_DEV3", "1.0rc1.post2.dev3"},
    // Local versions: lowercase, '-' and '_' become '.', numeric segments lose leading zeros.
    {"1.0+abc", "1.0+abc"},
    {"1.0+ABC", "1.0+abc"},
    {"1.0+ubuntu-1", "1.0+ubuntu.1"},
    {"1.0+01.a_B-c", "1.0+1.a.b.c"},
    {"1.0+000", "1.0+0"},
    {"1.0+0a", "1.0+0a"},
    {"1.0a.+abc", "1.0a0+abc"},
    {"1.0.post1+cpu", "1.0.post1+cpu"},
    // Numbers at the 64-bit limit still fit.
    {"18446744073709551615", "18446744073709551615"},
    {"18446744073709551615!1.0", "18446744073709551615!1.0"},
    {"1.0a18446744073709551615", "1.0a18446744073709551615"},
    // Local numbers are compared as text, so they may be longer.
    {"1.0+123456789012345678901234567890", "1.0+123456789012345678901234567890"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(normalize(c.input), c.normalized) << "input: \"" << c.input << "\"";
  }
}

TEST(VersionParse, NormalizedFormParsesToItself)
{
  for (const std::string_view text : {"1!2.0rc3.post4.dev5+abc.6", "1.0a0", "0", "1.0.post0.dev0"}) {
    const auto once = v(text);
    EXPECT_EQ(normalize(once.normalized()), once.normalized());
  }
}

TEST(VersionParse, RejectsInvalid)
{
  const std::string_view cases[] = {
    "",
    " ",
    "v",
    "V",
    "french toast",
    "1.",
    ".1",
    "1..0",
    "1.0.",
    "1.0-",
    "1.0.1-",
    "1.0.-1",
    "1.0_1",
    "1!",
    "!1.0",
    "1!1!1",
    "1!v1.0",
    "vv1.0",
    "1.0v",
    "1.0re",
    "1.0a1rc1",
    "1.0a1b1",
    "1.0.post1.post2",
    "1.0.dev1.dev2",
    "1.0.dev1a1",
    "1.0.dev1.post1",
    "1.0gamma1",
    "1.0+",
    "1.0+a.",
    "1.0+.a",
    "1.0+a..b",
    "1.0+abc-",
    "1.0+abc+def",
    "1.0+ab!c",
    "1.0 +abc",
    "1.0a 1",
    "1.0 1",
    "1 .0",
    std::string_view("1.0\0", 4),
    "1.0;",
    "1.0*",
    "1.0.*",
    "1.0,2.0",
    "-1.0",
    "+1.0",
    "a1.0",
    // Python would strip a no-break space as whitespace; a version on the wire is ASCII, and
    // only ASCII whitespace is stripped here.
    "1.0\xc2\xa0",
    "１.0",
  };
  for (const auto text : cases) {
    EXPECT_EQ(normalize(text), "invalid") << "input: \"" << text << "\"";
  }
}

TEST(VersionParse, RejectsNumbersOver64Bits)
{
  // One past UINT64_MAX in each numbered position: a wrapped number would compare wrongly.
  const std::string_view cases[] = {
    "18446744073709551616",
    "1.18446744073709551616",
    "18446744073709551616!1.0",
    "1.0a18446744073709551616",
    "1.0rc18446744073709551616",
    "1.0.post18446744073709551616",
    "1.0-18446744073709551616",
    "1.0.dev18446744073709551616",
    "99999999999999999999999999999.0",
  };
  for (const auto text : cases) {
    EXPECT_EQ(normalize(text), "invalid") << "input: \"" << text << "\"";
  }
}

TEST(VersionParse, Accessors)
{
  EXPECT_FALSE(v("1.0").is_prerelease());
  EXPECT_FALSE(v("1.0.post1").is_prerelease());
  EXPECT_FALSE(v("1.0+dev").is_prerelease());
  EXPECT_TRUE(v("1.0a1").is_prerelease());
  EXPECT_TRUE(v("1.0rc1.post1").is_prerelease());
  EXPECT_TRUE(v("1.0.dev0").is_prerelease());
  EXPECT_TRUE(v("1.0.post1.dev0").is_prerelease());

  EXPECT_FALSE(v("1.0").has_local());
  EXPECT_TRUE(v("1.0+0").has_local());

  const auto local = v("1!1.0rc1.post2.dev3+Ubuntu-1");
  const auto public_version = local.public_version();
  EXPECT_EQ(public_version.normalized(), "1!1.0rc1.post2.dev3");
  EXPECT_FALSE(public_version.has_local());
  EXPECT_LT(public_version, local);
  EXPECT_EQ(public_version, v("1!1.0rc1.post2.dev3"));
  EXPECT_EQ(v("1.0").public_version().normalized(), "1.0");
}

TEST(VersionOrder, PepOrderingList)
{
  // Strictly ascending, as PEP 440 and packaging order them.
  const std::vector<std::string_view> ascending = {
    "0.9",
    "0.9.9.9.post9",
    "1.0.dev0",
    "1.0.dev456",
    "1.0.dev456+local",
    "1.0a0",
    "1.0a1.dev1",
    "1.0a1",
    "1.0a1+local",
    "1.0a1.post0.dev0",
    "1.0a1.post0",
    "1.0a2.dev456",
    "1.0a12.dev456",
    "1.0a12",
    "1.0b1.dev456",
    "1.0b2",
    "1.0b2.post345.dev456",
    "1.0b2.post345",
    "1.0b2-346",
    "1.0rc1.dev456",
    "1.0rc1",
    "1.0rc2",
    "1.0",
    "1.0+abc.5",
    "1.0+abc.7",
    "1.0+5",
    "1.0.post0.dev0",
    "1.0.post0",
    "1.0.post456.dev34",
    "1.0.post456",
    "1.0.post456+local",
    "1.0.1.dev1",
    "1.0.1a1",
    "1.0.1",
    "1.0.1.post1",
    "1.1.dev1",
    "1.1",
    "1.2+a",
    "1.2+abc",
    "1.2+abcdef",
    "1.2+def",
    "1.2+0",
    "1.2+1",
    "1.2+1.abc",
    "1.2+1.1",
    "1.2+1.1.0",
    "1.2+2",
    "1.2+10",
    "1.2+123456",
    "1.2+123456789012345678901234567890",
    "1.2.r32+123456",
    "1.10",
    "2.0",
    "10.0",
    "18446744073709551615",
    // Any epoch beats any release.
    "1!0.1",
    "1!1.0.dev0",
    "1!1.0a1",
    "1!1.0",
    "1!1.0+local",
    "1!1.0.post1",
    "2!0.0.1",
  };
  std::vector<Version> versions;
  for (const auto text : ascending) {
    versions.push_back(v(text));
  }
  for (size_t i = 0; i < versions.size(); ++i) {
    EXPECT_EQ(versions[i], versions[i]) << ascending[i];
    for (size_t j = i + 1; j < versions.size(); ++j) {
      EXPECT_LT(versions[i], versions[j]) << ascending[i] << " < " << ascending[j];
      EXPECT_GT(versions[j], versions[i]) << ascending[j] << " > " << ascending[i];
      EXPECT_NE(versions[i], versions[j]) << ascending[i] << " != " << ascending[j];
    }
  }
}

TEST(VersionOrder, EquivalentSpellings)
{
  const std::pair<std::string_view, std::string_view> cases[] = {
    {"1.0", "1.0.0"},
    {"1", "1.0.0.0"},
    {"0", "0.0"},
    {"1.0a1", "1.0.0a1"},
    {"1.0.post1", "1.0.0-1"},
    {"1.0+abc", "1.0.0+ABC"},
    {"1.0+1.a", "1.0+01-A"},
    {"1.0c1", "1.0rc1"},
    {"0!1.0", "1.0"},
    {"1.0.dev0", "1.0dev"},
  };
  for (const auto& [a, b] : cases) {
    EXPECT_EQ(v(a), v(b)) << a << " == " << b;
    EXPECT_TRUE((v(a) <=> v(b)) == 0) << a << " <=> " << b;
  }
  // Equivalent, yet each keeps its own spelling: trailing zeros are not normalized away.
  EXPECT_EQ(v("1.0").normalized(), "1.0");
  EXPECT_EQ(v("1.0.0").normalized(), "1.0.0");
}

TEST(VersionOrder, LocalSegments)
{
  // {smaller, larger}
  const std::pair<std::string_view, std::string_view> cases[] = {
    {"1.0", "1.0+0"},           // no local < any local
    {"1.0", "1.0+a"},
    {"1.0+a", "1.0+0"},         // alphanumeric < numeric
    {"1.0+zzz", "1.0+0"},
    {"1.0+abc", "1.0+abd"},     // strings compare as strings
    {"1.0+abc", "1.0+abcd"},
    {"1.0+a10", "1.0+a9"},      // ... even when they hold digits
    {"1.0+9", "1.0+10"},        // numbers compare as numbers
    {"1.0+09", "1.0+10"},
    {"1.0+99999999999999999999", "1.0+100000000000000000000"},
    {"1.0+1", "1.0+1.0"},       // a prefix sorts first
    {"1.0+1.abc", "1.0+1.0"},
    {"1.0+abc.5", "1.0+abc.7"},
    {"1.0+abc.7", "1.0+5"},
    {"1.0+local", "1.0.post0"}, // local never jumps past a later public version
    {"1.0.dev1+z", "1.0a1"},
  };
  for (const auto& [smaller, larger] : cases) {
    EXPECT_LT(v(smaller), v(larger)) << smaller << " < " << larger;
  }
}

TEST(VersionOrder, ReleaseSegmentsAreNumbers)
{
  EXPECT_LT(v("1.9"), v("1.10"));
  EXPECT_LT(v("1.2"), v("1.10"));
  EXPECT_LT(v("1.0.9"), v("1.1"));
  EXPECT_LT(v("1.0"), v("1.0.0.1"));
  EXPECT_LT(v("1.0a9"), v("1.0a10"));
  EXPECT_LT(v("1.0.post9"), v("1.0.post10"));
  EXPECT_LT(v("1.0.dev9"), v("1.0.dev10"));
  EXPECT_LT(v("9.0"), v("1!0"));
}

TEST(SpecifierParse, Accepts)
{
  const std::string_view cases[] = {
    ">=1.82.7,<1.83",
    ">=1.82.7, <1.83",
    "  >= 1.82.7 ,  < 1.83  ",
    "==1.0",
    "== 1.0",
    "==v1.0",
    "==1.0+local",
    "!=1.0+local.7",
    "==1.0.*",
    "== 1.0.*",
    "==1!1.*",
    "!=1.5.*",
    "==1.0rc1",
    "==1.0.post1.dev2",
    "~=2.2",
    "~=1.4.5",
    "~=2.2a1",
    "~=2.2.post3",
    "~=1!2.2",
    "<=1.0",
    ">1.0.post1",
    "<1.0.dev0",
    "<1.0RC1",
    "===foobar",
    "=== 1.0-weird",
    ">=1.0,!=1.3.4.*,<2.0",
  };
  for (const auto text : cases) {
    EXPECT_EQ(specifier_error(text), "parsed") << text;
  }
}

TEST(SpecifierParse, KeepsTextAndClauses)
{
  const auto set = SpecifierSet::parse("  >=1.82.7, <1.83 ");
  ASSERT_TRUE(set);
  EXPECT_EQ(set->text(), ">=1.82.7, <1.83");
  EXPECT_FALSE(set->empty());
  EXPECT_TRUE(SpecifierSet{}.empty());
  // A default set has no clauses, so it admits everything.
  EXPECT_TRUE(SpecifierSet{}.contains(v("1.0")));
}

TEST(SpecifierParse, Errors)
{
  const std::pair<std::string_view, std::string_view> cases[] = {
    {"", "empty version specifier"},
    {"   ", "empty version specifier"},
    {"~=1", "invalid version specifier \"~=1\": ~= needs at least two release segments"},
    {"~=1a1", "invalid version specifier \"~=1a1\": ~= needs at least two release segments"},
    {"~=v1", "invalid version specifier \"~=v1\": ~= needs at least two release segments"},
    {"1.0",
     "invalid version specifier \"1.0\": expected an operator (==, !=, <=, >=, <, >, ~= or ===) before the version"},
    {"=1.0",
     "invalid version specifier \"=1.0\": expected an operator (==, !=, <=, >=, <, >, ~= or ===) before the version"},
    {"=>1.0",
     "invalid version specifier \"=>1.0\": expected an operator (==, !=, <=, >=, <, >, ~= or ===) before the version"},
    {"^1.0",
     "invalid version specifier \"^1.0\": expected an operator (==, !=, <=, >=, <, >, ~= or ===) before the version"},
    {">=", "invalid version specifier \">=\": missing version after >="},
    {"== ", "invalid version specifier \"==\": missing version after =="},
    {"===", "invalid version specifier \"===\": missing version after ==="},
    {">=1.0,", "invalid version specifier \">=1.0,\": empty clause"},
    {",>=1.0", "invalid version specifier \",>=1.0\": empty clause"},
    {">=1.0,,<2", "invalid version specifier \">=1.0,,<2\": empty clause"},
    {">=1.0x", "invalid version specifier \">=1.0x\": \"1.0x\" is not a PEP 440 version"},
    {"<>1.0", "invalid version specifier \"<>1.0\": \">1.0\" is not a PEP 440 version"},
    {"== 1.0 a1", "invalid version specifier \"== 1.0 a1\": \"1.0 a1\" is not a PEP 440 version"},
    {"==1.0 .*", "invalid version specifier \"==1.0 .*\": \"1.0 .*\" is not a PEP 440 version"},
    {"==1.*.*", "invalid version specifier \"==1.*.*\": \"1.*.*\" is not a PEP 440 version"},
    {"==.*", "invalid version specifier \"==.*\": \".*\" is not a PEP 440 version"},
    {"==1.0*", "invalid version specifier \"==1.0*\": \"1.0*\" is not a PEP 440 version"},
    {">=18446744073709551616",
     "invalid version specifier \">=18446744073709551616\": \"18446744073709551616\" is not a PEP 440 version"},
    {">=1.0.*", "invalid version specifier \">=1.0.*\": .* is only allowed with == and !="},
    {"~=1.0.*", "invalid version specifier \"~=1.0.*\": .* is only allowed with == and !="},
    {"<1.*", "invalid version specifier \"<1.*\": .* is only allowed with == and !="},
    {"==1.0+local.*", "invalid version specifier \"==1.0+local.*\": .* cannot follow a local version"},
    {"==1.0a1.*",
     "invalid version specifier \"==1.0a1.*\": .* can only follow a release (such as ==1.0.*), not a pre, post or "
     "dev release"},
    {"!=1.0.post1.*",
     "invalid version specifier \"!=1.0.post1.*\": .* can only follow a release (such as ==1.0.*), not a pre, post "
     "or dev release"},
    {"==1.0.dev1.*",
     "invalid version specifier \"==1.0.dev1.*\": .* can only follow a release (such as ==1.0.*), not a pre, post or "
     "dev release"},
    {">=1.0+local", "invalid version specifier \">=1.0+local\": a local version (+...) is only allowed with == and !="},
    {"<1.0+local", "invalid version specifier \"<1.0+local\": a local version (+...) is only allowed with == and !="},
    {"~=1.0+local", "invalid version specifier \"~=1.0+local\": a local version (+...) is only allowed with == and !="},
    {"===a b", "invalid version specifier \"===a b\": === takes a version without whitespace, ';' or ')'"},
    {"===1.0;", "invalid version specifier \"===1.0;\": === takes a version without whitespace, ';' or ')'"},
    // The error names the failing clause, not the whole set.
    {">=1.0, ~=1", "invalid version specifier \"~=1\": ~= needs at least two release segments"},
    {">=1.0, <2.0 ,>=banana", "invalid version specifier \">=banana\": \"banana\" is not a PEP 440 version"},
  };
  for (const auto& [text, message] : cases) {
    EXPECT_EQ(specifier_error(text), message) << text;
  }
}

namespace {

struct ContainsCase
{
  std::string_view spec;
  std::string_view version;
  bool admitted;
};

} // namespace

TEST(SpecifierContains, Table)
{
  const ContainsCase cases[] = {
    // A range, as a policy rule writes one.
    {">=1.82.7,<1.83", "1.82.7", true},
    {">=1.82.7,<1.83", "1.82.7.0", true},
    {">=1.82.7,<1.83", "1.82.8", true},
    {">=1.82.7,<1.83", "1.82.10", true},
    {">=1.82.7,<1.83", "1.82.7.post1", true},
    {">=1.82.7,<1.83", "1.82.9rc1", true},
    {">=1.82.7,<1.83", "1.82.7+local", true},
    {">=1.82.7,<1.83", "1.83", false},
    {">=1.82.7,<1.83", "1.83.0", false},
    {">=1.82.7,<1.83", "1.83rc1", false},
    {">=1.82.7,<1.83", "1.83.dev0", false},
    {">=1.82.7,<1.83", "1.82.6", false},
    {">=1.82.7,<1.83", "1.82.7rc1", false},
    {">=1.82.7,<1.83", "1.82.6.post9", false},
    {">=1.82.7,<1.83", "1!1.82.8", false},

    // == and != without a wildcard: zero padding, local labels ignored unless specified.
    {"==1.0", "1.0", true},
    {"==1.0", "1", true},
    {"==1.0", "1.0.0", true},
    {"==1.0", "1.0+ubuntu1", true},
    {"==1.0", "1.0.post1", false},
    {"==1.0", "1.0rc1", false},
    {"==1.0", "1.0.dev1", false},
    {"==1.0", "1.0.1", false},
    {"==1.0", "1!1.0", false},
    {"==1.0+ubuntu1", "1.0+ubuntu1", true},
    {"==1.0+ubuntu1", "1.0+UBUNTU1", true},
    {"==1.0+ubuntu1", "1.0+ubuntu.1", false},
    {"==1.0+ubuntu1", "1.0.0+ubuntu1", true},
    {"==1.0+ubuntu1", "1.0", false},
    {"==1.0+ubuntu1", "1.0+ubuntu2", false},
    {"==1.0+ubuntu1", "1.0+ubuntu1.1", false},
    {"==1.0rc1", "1.0rc1", true},
    {"==1.0rc1", "1.0c1", true},
    {"==1.0rc1", "1.0", false},
    {"!=1.0", "1.0", false},
    {"!=1.0", "1.0+local", false},
    {"!=1.0", "1.0.post1", true},
    {"!=1.0", "1.0rc1", true},
    {"!=1.0+local", "1.0+local", false},
    {"!=1.0+local", "1.0", true},
    {"!=1.0+local", "1.0+other", true},

    // Prefix matching: everything after the release is ignored, the release is zero-padded.
    {"==1.82.*", "1.82", true},
    {"==1.82.*", "1.82.0", true},
    {"==1.82.*", "1.82.7", true},
    {"==1.82.*", "1.82.7.3", true},
    {"==1.82.*", "1.82rc1", true},
    {"==1.82.*", "1.82.0.dev0", true},
    {"==1.82.*", "1.82.7.post1", true},
    {"==1.82.*", "1.82.7+local", true},
    {"==1.82.*", "1.83", false},
    {"==1.82.*", "1.83.dev0", false},
    {"==1.82.*", "1.8", false},
    {"==1.82.*", "1.820", false},
    {"==1.82.*", "1.81.99", false},
    {"==1.82.*", "2!1.82", false},
    {"==1.0.*", "1", true},
    {"==1.0.0.*", "1.0", true},
    {"==1.*", "1.99.post1", true},
    {"==1.*", "2.0.dev0", false},
    {"==1!1.*", "1!1.5", true},
    {"==1!1.*", "1.5", false},
    {"==0.*", "0.0.1a1", true},
    {"==18446744073709551615.*", "18446744073709551615.1", true},
    {"!=1.5.*", "1.5", false},
    {"!=1.5.*", "1.5.3", false},
    {"!=1.5.*", "1.5rc1", false},
    {"!=1.5.*", "1.5.3+local", false},
    {"!=1.5.*", "1.5.dev0", false},
    {"!=1.5.*", "1.4.99", true},
    {"!=1.5.*", "1.6", true},
    {"!=1.5.*", "1.6.dev0", true},
    {"!=1.5.*", "1.50", true},
    {"!=1.5.*", "1.4.post5", true},

    // ~=: >= V, and == V with its last release segment dropped and .* added.
    {"~=2.2", "2.2", true},
    {"~=2.2", "2.3", true},
    {"~=2.2", "2.9.post1", true},
    {"~=2.2", "2.2+local", true},
    {"~=2.2", "2.10", true},
    {"~=2.2", "3.0", false},
    {"~=2.2", "3.0.dev0", false},
    {"~=2.2", "3.0a1", false},
    {"~=2.2", "2.1", false},
    {"~=2.2", "2.2rc1", false},
    {"~=2.2", "1!2.3", false},
    {"~=1.4.5", "1.4.5", true},
    {"~=1.4.5", "1.4.6", true},
    {"~=1.4.5", "1.4.5.1", true},
    {"~=1.4.5", "1.4.99rc1", true},
    {"~=1.4.5", "1.5", false},
    {"~=1.4.5", "1.5.0", false},
    {"~=1.4.5", "1.4.4", false},
    {"~=1.4.5", "2.0", false},
    {"~=2.2a1", "2.2a1", true},
    {"~=2.2a1", "2.2", true},
    {"~=2.2a1", "2.5", true},
    {"~=2.2a1", "2.2.dev1", false},
    {"~=2.2a1", "3.0", false},
    {"~=2.2.post3", "2.2.post3", true},
    {"~=2.2.post3", "2.3", true},
    {"~=2.2.post3", "2.2.post2", false},
    {"~=2.2.0", "2.2.9", true},
    {"~=2.2.0", "2.3", false},
    {"~=1!2.2", "1!2.5", true},
    {"~=1!2.2", "2.5", false},

    // <= and >=: inclusive, local labels ignored.
    {"<=1.0", "1.0", true},
    {"<=1.0", "1.0+local", true},
    {"<=1.0", "1.0.0", true},
    {"<=1.0", "1.0rc1", true},
    {"<=1.0", "1.0.post1", false},
    {"<=1.0", "1.0.1", false},
    {">=1.0", "1.0", true},
    {">=1.0", "1.0+local", true},
    {">=1.0", "1.0.post1", true},
    {">=1.0", "1.0rc1", false},
    {">=1.0", "1.0.dev1", false},
    {">=1.0", "0.9", false},
    {">=1.0", "1.1a1", true},

    // <V: V's own pre-releases are excluded unless V is a pre-release.
    {"<1.0", "0.9", true},
    {"<1.0", "0.9.post1", true},
    {"<1.0", "0.9+local", true},
    {"<1.0", "1.0rc1", false},
    {"<1.0", "1.0a1", false},
    {"<1.0", "1.0.dev0", false},
    {"<1.0", "1.0.0.dev0", false},
    {"<1.0", "1.0", false},
    {"<1.0", "1.0+local", false},
    {"<1.0rc2", "1.0rc1", true},
    {"<1.0rc2", "1.0rc1.post1", true},
    {"<1.0rc2", "1.0a5", true},
    {"<1.0rc2", "1.0.dev0", true},
    {"<1.0rc2", "1.0rc2.dev1", true},
    {"<1.0rc2", "1.0rc2", false},
    {"<1.0.dev5", "1.0.dev4", true},
    {"<1.0.dev5", "1.0.dev5", false},
    {"<1.0.post2", "1.0.post1", true},
    {"<1.0.post2", "1.0", true},
    {"<1.0.post2", "1.0rc1", true},
    {"<1.0.post2", "1.0.post2.dev0", false},
    {"<1.0.post2", "1.0.post2", false},
    {"<0.0", "0.0.dev0", false},

    // >V: V's post-releases and local versions are excluded unless V is a post-release.
    {">1.0", "1.0.1", true},
    {">1.0", "1.1.dev0", true},
    {">1.0", "1.0.0.1", true},
    {">1.0", "2!0.1", true},
    {">1.0", "1.0", false},
    {">1.0", "1.0+local", false},
    {">1.0", "1.0.post1", false},
    {">1.0", "1.0.post1.dev1", false},
    {">1.0", "1.0.0.post1", false},
    {">1.0", "1.0.post1+local", false},
    {">1.0", "1.0rc1", false},
    {">1.0.post1", "1.0.post2", true},
    {">1.0.post1", "1.0.post2+local", true},
    {">1.0.post1", "1.0.post2.dev0", true},
    {">1.0.post1", "1.0.1", true},
    {">1.0.post1", "1.0.post1", false},
    {">1.0.post1", "1.0.post1+local", false},
    {">1.0.post1", "1.0.post0", false},
    {">1.0rc1", "1.0", true},
    {">1.0rc1", "1.0+local", true},
    {">1.0rc1", "1.0.post1", true},
    {">1.0rc1", "1.0rc2", true},
    {">1.0rc1", "1.0rc1+local", false},
    {">1.0rc1", "1.0rc1.post1", false},
    {">1.0rc1", "1.0rc1.post1.dev0", false},
    {">1.0.dev1", "1.0.dev2", true},
    {">1.0.dev1", "1.0a1", true},
    {">1.0.dev1", "1.0.post1", true},
    {">1.0.dev1", "1.0.dev1+local", false},
    {">1.0.dev1", "1.0.dev1", false},

    // Pre-releases are admitted wherever the operators allow them: this is a filter.
    {">=1.0", "2.0a1", true},
    {"<2.0", "1.5rc1", true},
    {"==1.*", "1.5.dev3", true},
    {">1.0,<2.0", "1.5b2", true},

    // Epochs dominate.
    {">=1.0", "1!0.1", true},
    {"<1!0", "99.0", true},
    {"<=2.0", "1!1.0", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(admits(c.spec, c.version), c.admitted) << c.spec << " contains " << c.version;
  }
}

TEST(SpecifierContains, ArbitraryEqualityUsesNormalizedForm)
{
  // Only the parsed Version is available, so === compares with its normalized() spelling.
  EXPECT_TRUE(admits("===1.0", "1.0"));
  EXPECT_TRUE(admits("===1.0RC1", "1.0rc1"));
  EXPECT_TRUE(admits("===1.0rc1", "1.0c1"));
  EXPECT_TRUE(admits("===1.0+Local", "1.0+local"));
  EXPECT_FALSE(admits("===1.0", "1.0.0"));
  EXPECT_FALSE(admits("===1.0", "1.0+local"));
  EXPECT_FALSE(admits("===1.0c1", "1.0c1"));
  EXPECT_FALSE(admits("===foobar", "1.0"));
}

TEST(SpecifierContains, EveryClauseMustAdmit)
{
  EXPECT_TRUE(admits(">=1.0,!=1.3.4.*,<2.0", "1.3.5"));
  EXPECT_FALSE(admits(">=1.0,!=1.3.4.*,<2.0", "1.3.4.1"));
  EXPECT_FALSE(admits(">=1.0,!=1.3.4.*,<2.0", "2.0"));
  EXPECT_FALSE(admits(">=1.0,!=1.3.4.*,<2.0", "0.9"));
  // Contradictory clauses admit nothing.
  EXPECT_FALSE(admits(">=2.0,<1.0", "1.5"));
  EXPECT_FALSE(admits("==1.0,!=1.0", "1.0"));
}
