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

TEST(Policy, StateNames)
{
  EXPECT_EQ(to_string(State::approved), "approved");
  EXPECT_EQ(to_string(State::quarantined), "quarantined");
  EXPECT_EQ(to_string(State::held), "held");
  EXPECT_EQ(to_string(State::blocked), "blocked");
}

} // namespace
} // namespace airlock::policy
