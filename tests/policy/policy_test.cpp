// decide(): every state, every precedence edge, with an injected time.

#include <airlock/policy/policy.hpp>
#include <airlock/util/error.hpp>

#include <gtest/gtest.h>

namespace airlock::policy {
namespace {

using namespace std::chrono_literals;
using storage::Decision;
using storage::DecisionAction;

const Time k_now = Time{std::chrono::sys_days{std::chrono::year{2026} / 3 / 24}} + 10h;

storage::FileRecord
file(std::string filename, std::string version, Seconds age)
{
  storage::FileRecord f;
  f.project = "litellm";
  f.filename = std::move(filename);
  f.version = std::move(version);
  f.upload_time = k_now - age;
  f.first_seen = k_now;
  return f;
}

const storage::FileRecord k_old = file("litellm-1.82.6-py3-none-any.whl", "1.82.6", std::chrono::days{30});
const storage::FileRecord k_new = file("litellm-1.82.7-py3-none-any.whl", "1.82.7", 1h);

Decision
decision(DecisionAction action, std::string version = {}, std::string filename = {})
{
  return Decision{"litellm", std::move(version), std::move(filename), action, "alice", "looked at it",
                  k_now - 5min};
}

Rule
rule(std::string project, RuleAction action, std::string version = {})
{
  Rule r;
  r.project = std::move(project);
  r.action = action;
  r.version = std::move(version);
  r.origin = "airlock.toml:9";
  return r;
}

Verdict
decide(const storage::FileRecord& f, std::vector<Rule> rules = {}, std::vector<Decision> decisions = {},
       std::string_view status = {}, Options options = {})
{
  options.rules = std::move(rules);
  const Policy policy(std::move(options));
  return policy.decide(f, ProjectContext{decisions, status}, k_now);
}

TEST(Policy, OldFileIsApprovedOnAge)
{
  const auto verdict = decide(k_old);
  EXPECT_EQ(verdict.state, State::approved);
  EXPECT_EQ(verdict.until, std::nullopt);
  EXPECT_EQ(verdict.reason, "uploaded 30d 0h ago, past the 7d 0h window");
}

TEST(Policy, YoungFileIsQuarantinedUntilItsWindowEnds)
{
  const auto verdict = decide(k_new);
  EXPECT_EQ(verdict.state, State::quarantined);
  EXPECT_EQ(verdict.until, *k_new.upload_time + std::chrono::days{7});
  EXPECT_EQ(verdict.reason, "quarantined until 2026-03-31T09:00:00Z: uploaded 1h 0m ago, window 7d 0h");
}

TEST(Policy, WindowBoundaryIsExact)
{
  const Policy policy(Options{});
  auto f = k_new;
  f.upload_time = k_now - std::chrono::days{7} + 1s;
  EXPECT_EQ(policy.decide(f, {}, k_now).state, State::quarantined);
  f.upload_time = k_now - std::chrono::days{7};
  EXPECT_EQ(policy.decide(f, {}, k_now).state, State::approved);
}

TEST(Policy, WithoutUploadTimeAgeCountsFromFirstSight)
{
  auto f = k_new;
  f.upload_time.reset();
  f.first_seen = k_now - std::chrono::days{8};
  EXPECT_EQ(decide(f).state, State::approved);
  f.first_seen = k_now - 1h;
  const auto verdict = decide(f);
  EXPECT_EQ(verdict.state, State::quarantined);
  EXPECT_NE(verdict.reason.find("first seen 1h 0m ago"), std::string::npos) << verdict.reason;
}

TEST(Policy, RuleWindowOverridesTheDefault)
{
  Rule fast = rule("lite*", RuleAction::none);
  fast.quarantine = 0s;
  EXPECT_EQ(decide(k_new, {fast}).state, State::approved);
  Rule slow = rule("litellm", RuleAction::none);
  slow.quarantine = std::chrono::days{60};
  EXPECT_EQ(decide(k_old, {slow}).state, State::quarantined);
  Rule other = rule("internal-*", RuleAction::none);
  other.quarantine = 0s;
  EXPECT_EQ(decide(k_new, {other}).state, State::quarantined) << "a rule for another project does not apply";
}

TEST(Policy, AllowRuleApprovesAndBlockRuleBlocks)
{
  EXPECT_EQ(decide(k_new, {rule("litellm", RuleAction::allow)}).state, State::approved);
  const auto blocked = decide(k_old, {rule("lite?lm", RuleAction::block)});
  EXPECT_EQ(blocked.state, State::blocked);
  EXPECT_EQ(blocked.reason, "blocked by policy rule at airlock.toml:9");
}

TEST(Policy, VersionSpecifierNarrowsARule)
{
  const auto deny = rule("litellm", RuleAction::block, ">=1.82.7,<1.83");
  EXPECT_EQ(decide(k_new, {deny}).state, State::blocked);
  EXPECT_EQ(decide(k_old, {deny}).state, State::approved);
  auto unparseable = k_old;
  unparseable.version = "";
  EXPECT_EQ(decide(unparseable, {deny}).state, State::approved)
    << "a version rule cannot govern a file whose version is unknown";
  EXPECT_EQ(decide(unparseable, {rule("litellm", RuleAction::block)}).state, State::blocked)
    << "but a project rule does";
}

TEST(Policy, BadSpecifierIsAConfigErrorNamingTheRule)
{
  Options options;
  options.rules.push_back(rule("litellm", RuleAction::block, ">=>1"));
  try {
    Policy policy(options);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("airlock.toml:9"), std::string::npos) << e.what();
  }
}

TEST(Policy, ReviewerApproveReleasesEarlyAtReleaseAndFileScope)
{
  auto verdict = decide(k_new, {}, {decision(DecisionAction::approve, "1.82.7")});
  EXPECT_EQ(verdict.state, State::approved);
  EXPECT_EQ(verdict.reason, "approved by alice on 2026-03-24T09:55:00Z: looked at it");
  EXPECT_EQ(decide(k_new, {}, {decision(DecisionAction::approve, "", k_new.filename)}).state, State::approved);
  EXPECT_EQ(decide(k_new, {}, {decision(DecisionAction::approve, "1.82.8")}).state, State::quarantined);
}

TEST(Policy, ReleaseDecisionsMatchByNormalizedVersion)
{
  auto f = k_new;
  f.version = "1.82.7.0";
  EXPECT_EQ(decide(f, {}, {decision(DecisionAction::approve, release_key("1.82.7"))}).state, State::approved);
  EXPECT_EQ(release_key("1.0RC1"), "1rc1");
  EXPECT_EQ(release_key("1.82.7.0"), "1.82.7");
  EXPECT_EQ(release_key("2!1.0.0.post1"), "2!1.post1");
  EXPECT_EQ(release_key("10.0"), "10");
  EXPECT_EQ(release_key("1.0+local.0"), "1+local.0");
  EXPECT_EQ(release_key("not-pep440"), "not-pep440");
}

TEST(Policy, ReviewerBlockBeatsEverything)
{
  const std::vector<Decision> decisions{decision(DecisionAction::approve, "1.82.6"),
                                        decision(DecisionAction::block, "", k_old.filename)};
  auto verdict = decide(k_old, {rule("litellm", RuleAction::allow)}, decisions);
  EXPECT_EQ(verdict.state, State::blocked);
  EXPECT_EQ(verdict.until, std::nullopt);
  EXPECT_EQ(verdict.reason, "blocked by alice on 2026-03-24T09:55:00Z: looked at it");
  // A project-scope block covers every release, later ones included.
  EXPECT_EQ(decide(k_new, {}, {decision(DecisionAction::block)}).state, State::blocked);
  EXPECT_EQ(decide(k_old, {}, {decision(DecisionAction::block)}).state, State::blocked);
}

TEST(Policy, DenyRuleBeatsReviewerApprove)
{
  const auto verdict =
    decide(k_new, {rule("litellm", RuleAction::block, "==1.82.7")}, {decision(DecisionAction::approve, "1.82.7")});
  EXPECT_EQ(verdict.state, State::blocked);
}

TEST(Policy, ReviewerApproveBeatsTheWindowAndAnAllowRuleNeedsNoApprove)
{
  Rule slow = rule("litellm", RuleAction::none);
  slow.quarantine = std::chrono::days{90};
  EXPECT_EQ(decide(k_old, {slow}, {decision(DecisionAction::approve, "1.82.6")}).state, State::approved);
}

TEST(Policy, UpstreamTakedownBlocksUnlessConfiguredToKeep)
{
  auto removed = k_old;
  removed.removed_upstream = k_now - 1h;
  auto verdict = decide(removed);
  EXPECT_EQ(verdict.state, State::blocked);
  EXPECT_EQ(verdict.reason, "removed upstream (gone from the listing since 2026-03-24T09:00:00Z)");
  EXPECT_EQ(decide(removed, {}, {decision(DecisionAction::approve, "1.82.6")}).state, State::blocked)
    << "a reviewer's approve does not undo a takedown";
  Options keep;
  keep.on_upstream_removal = OnUpstreamRemoval::keep;
  EXPECT_EQ(decide(removed, {}, {}, {}, keep).state, State::approved);

  verdict = decide(k_old, {}, {}, "quarantined");
  EXPECT_EQ(verdict.state, State::blocked);
  EXPECT_EQ(verdict.reason, "quarantined upstream (PEP 792 project status)");
  EXPECT_EQ(decide(k_old, {}, {}, "archived").state, State::approved);
}

TEST(Policy, ReviewerBlockBeatsTakedownReason)
{
  auto removed = k_old;
  removed.removed_upstream = k_now;
  EXPECT_NE(decide(removed, {}, {decision(DecisionAction::block)}).reason.find("alice"), std::string::npos);
}

// --- held checks: provenance continuity and contents --------------------------------------------

storage::FileChecks
verified_by(std::string repository, std::string workflow = "release.yml")
{
  storage::FileChecks checks;
  checks.provenance = storage::ProvenanceState::verified;
  checks.publisher_kind = "GitHub";
  checks.repository = std::move(repository);
  checks.workflow = std::move(workflow);
  checks.inspected = true;
  return checks;
}

storage::FileChecks
absent()
{
  storage::FileChecks checks;
  checks.provenance = storage::ProvenanceState::absent;
  checks.inspected = true;
  return checks;
}

class HeldChecks : public ::testing::Test
{
protected:
  // Three releases, all past the 7d window but newer than the project's first sighting (so not
  // established history): 1.0 (10 days old), 1.1 (9 days), 1.2 (8 days).
  HeldChecks()
  {
    for (int i = 0; i < 3; ++i) {
      const std::string version = "1." + std::to_string(i);
      files.push_back(file("litellm-" + version + "-py3-none-any.whl", version, std::chrono::days{10 - i}));
    }
  }

  Verdict decide_with(std::size_t index, std::map<std::string, storage::FileChecks> checks, Options options = {},
                      std::vector<Decision> decisions = {})
  {
    const ProjectHistory history(files, std::move(checks), k_now - std::chrono::days{20});
    const Policy policy(std::move(options));
    return policy.decide(files[index], ProjectContext{decisions, {}, &history}, k_now);
  }

  std::vector<storage::FileRecord> files;
};

TEST_F(HeldChecks, SamePublisherAsThePrecedingReleaseIsApproved)
{
  const auto verdict = decide_with(1, {{files[0].filename, verified_by("BerriAI/litellm")},
                                       {files[1].filename, verified_by("BerriAI/litellm")}});
  EXPECT_EQ(verdict.state, State::approved) << verdict.reason;
}

TEST_F(HeldChecks, ProvenanceRegressionIsHeld)
{
  const auto verdict =
    decide_with(1, {{files[0].filename, verified_by("BerriAI/litellm")}, {files[1].filename, absent()}});
  EXPECT_EQ(verdict.state, State::held);
  EXPECT_EQ(verdict.until, std::nullopt) << "age never releases a held file";
  EXPECT_EQ(verdict.reason, "provenance regression: 1.0 was published with verified provenance by GitHub "
                            "BerriAI/litellm (release.yml); this file has none");
}

TEST_F(HeldChecks, PublisherChangeIsHeldForRepositoryAndWorkflow)
{
  auto verdict = decide_with(1, {{files[0].filename, verified_by("BerriAI/litellm")},
                                 {files[1].filename, verified_by("attacker/litellm")}});
  EXPECT_EQ(verdict.state, State::held);
  EXPECT_NE(verdict.reason.find("publisher changed"), std::string::npos) << verdict.reason;
  verdict = decide_with(1, {{files[0].filename, verified_by("BerriAI/litellm")},
                            {files[1].filename, verified_by("BerriAI/litellm", "other.yml")}});
  EXPECT_EQ(verdict.state, State::held);
}

TEST_F(HeldChecks, OneHoldDoesNotCascade)
{
  // 1.1 lost its provenance (held); 1.2 compares with 1.1, which carried none: not held.
  const std::map<std::string, storage::FileChecks> checks{{files[0].filename, verified_by("BerriAI/litellm")},
                                                          {files[1].filename, absent()},
                                                          {files[2].filename, absent()}};
  EXPECT_EQ(decide_with(1, checks).state, State::held);
  EXPECT_EQ(decide_with(2, checks).state, State::approved);
}

TEST_F(HeldChecks, InvalidProvenanceIsHeldWhateverTheAge)
{
  auto invalid = absent();
  invalid.provenance = storage::ProvenanceState::invalid;
  invalid.reason_class = "signature";
  invalid.reason = "DSSE signature does not verify";
  auto old = files[0];
  old.upload_time = k_now - std::chrono::days{400}; // established history
  files[0] = old;
  const auto verdict = decide_with(0, {{files[0].filename, invalid}});
  EXPECT_EQ(verdict.state, State::held);
  EXPECT_EQ(verdict.reason, "provenance invalid (signature): DSSE signature does not verify");
}

TEST_F(HeldChecks, RequireProvenanceHoldsAbsentFilesEvenEstablishedOnes)
{
  Options options;
  Rule required = rule("litellm", RuleAction::none);
  required.require_provenance = true;
  options.rules = {required};
  files[0].upload_time = k_now - std::chrono::days{400};
  EXPECT_EQ(decide_with(0, {{files[0].filename, absent()}}, options).state, State::held);
  EXPECT_EQ(decide_with(0, {{files[0].filename, verified_by("BerriAI/litellm")}}, options).state, State::approved);
}

TEST_F(HeldChecks, EstablishedHistoryIsApprovedOnAgeWithoutContinuity)
{
  for (auto& f : files) {
    f.upload_time = *f.upload_time - std::chrono::days{60}; // older than first sight - 30d
  }
  EXPECT_EQ(decide_with(1, {{files[0].filename, verified_by("BerriAI/litellm")}}).state, State::approved)
    << "established files are approved on age while their checks run";
}

TEST_F(HeldChecks, PendingChecksKeepAnAgedFileQuarantinedWithoutUntil)
{
  auto verdict = decide_with(1, {});
  EXPECT_EQ(verdict.state, State::quarantined);
  EXPECT_EQ(verdict.until, std::nullopt);
  EXPECT_NE(verdict.reason.find("checks pending"), std::string::npos);
  files[1].upload_time = k_now - 1h; // still in its window: the window speaks, with its until
  verdict = decide_with(1, {});
  EXPECT_EQ(verdict.state, State::quarantined);
  EXPECT_TRUE(verdict.until.has_value());
  auto uninspected = verified_by("BerriAI/litellm");
  uninspected.inspected = false;
  EXPECT_EQ(decide_with(0, {{files[0].filename, uninspected}}).state, State::quarantined);
}

TEST_F(HeldChecks, NewlyAddedExecutablePthIsHeldAndNamed)
{
  auto before = absent();
  before.executable_pth = {"distutils-precedence.pth"};
  auto after = absent();
  after.executable_pth = {"distutils-precedence.pth", "litellm_init.pth"};
  const auto verdict = decide_with(1, {{files[0].filename, before}, {files[1].filename, after}});
  EXPECT_EQ(verdict.state, State::held);
  EXPECT_NE(verdict.reason.find("litellm_init.pth"), std::string::npos) << verdict.reason;
  EXPECT_EQ(verdict.reason.find("distutils-precedence.pth"), std::string::npos) << "it shipped before";
  EXPECT_EQ(decide_with(1, {{files[0].filename, before}, {files[1].filename, before}}).state, State::approved);
  EXPECT_EQ(decide_with(0, {{files[0].filename, after}}).state, State::approved)
    << "a first release has nothing to compare with";
}

TEST_F(HeldChecks, ReviewerApproveReleasesAHeldFileAndBlockBeatsIt)
{
  const std::map<std::string, storage::FileChecks> checks{{files[0].filename, verified_by("BerriAI/litellm")},
                                                          {files[1].filename, absent()}};
  EXPECT_EQ(decide_with(1, checks, {}, {decision(DecisionAction::approve, "1.1")}).state, State::approved);
  EXPECT_EQ(decide_with(1, checks, {}, {decision(DecisionAction::block, "1.1")}).state, State::blocked);
}

TEST(Policy, StateNames)
{
  EXPECT_EQ(to_string(State::approved), "approved");
  EXPECT_EQ(to_string(State::quarantined), "quarantined");
  EXPECT_EQ(to_string(State::held), "held");
  EXPECT_EQ(to_string(State::blocked), "blocked");
}

} // namespace
} // namespace airlock::policy
