// decide(): every state, every precedence edge, with an injected time.

#include <airlock/policy/policy.hpp>
#include <airlock/util/error.hpp>

#include <gtest/gtest.h>

#include <algorithm>

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
  f.sha256 = Sha256::of(f.filename);
  f.upload_time = k_now - age;
  f.first_seen = k_now;
  return f;
}

const storage::FileRecord k_old = file("litellm-1.82.6-py3-none-any.whl", "1.82.6", std::chrono::days{30});
const storage::FileRecord k_new = file("litellm-1.82.7-py3-none-any.whl", "1.82.7", 1h);

// A reviewer's decision; an approval covers the bytes it names (`seen`).
Decision
decision(DecisionAction action, std::string version = {}, std::string filename = {}, std::vector<Sha256> seen = {})
{
  std::sort(seen.begin(), seen.end());
  return Decision{"litellm", std::move(version), std::move(filename), action, "alice", "looked at it",
                  k_now - 5min, std::move(seen)};
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
  auto verdict = decide(k_new, {}, {decision(DecisionAction::approve, "1.82.7", "", {k_new.sha256})});
  EXPECT_EQ(verdict.state, State::approved);
  EXPECT_EQ(verdict.reason, "approved by alice on 2026-03-24T09:55:00Z: looked at it");
  EXPECT_EQ(decide(k_new, {}, {decision(DecisionAction::approve, "", k_new.filename, {k_new.sha256})}).state,
            State::approved);
  EXPECT_EQ(decide(k_new, {}, {decision(DecisionAction::approve, "1.82.8", "", {k_new.sha256})}).state,
            State::quarantined);
}

TEST(Policy, AnApprovalCoversOnlyTheBytesItSaw)
{
  // Bypass 2: a file added to an approved release follows the policy again.
  const auto approved = decision(DecisionAction::approve, "1.82.7", "", {k_new.sha256});
  auto added = file("litellm-1.82.7.tar.gz", "1.82.7", 1h);
  EXPECT_EQ(decide(added, {}, {approved}).state, State::quarantined);
  // New bytes under the approved filename are not the bytes approved.
  auto other_bytes = k_new;
  other_bytes.sha256 = Sha256::of("other bytes");
  EXPECT_EQ(decide(other_bytes, {}, {approved}).state, State::quarantined);
  EXPECT_EQ(decide(other_bytes, {}, {decision(DecisionAction::approve, "", k_new.filename, {k_new.sha256})}).state,
            State::quarantined);
  // An approval that recorded nothing covers nothing.
  EXPECT_EQ(decide(k_new, {}, {decision(DecisionAction::approve, "1.82.7")}).state, State::quarantined);
  // covering_decision names the decision that speaks.
  const std::vector<Decision> decisions{approved};
  EXPECT_EQ(covering_decision(decisions, k_new), &decisions[0]);
  EXPECT_EQ(covering_decision(decisions, added), nullptr);
}

TEST(Policy, BlocksCoverTheirScopeIncludingLaterFiles)
{
  auto added = file("litellm-1.82.7.tar.gz", "1.82.7", 1h);
  EXPECT_EQ(decide(added, {}, {decision(DecisionAction::block, "1.82.7")}).state, State::blocked);
  auto other_bytes = k_new;
  other_bytes.sha256 = Sha256::of("other bytes");
  EXPECT_EQ(decide(other_bytes, {}, {decision(DecisionAction::block, "", k_new.filename)}).state, State::blocked);
}

TEST(Policy, NewBytesUnderAKnownFilenameAreHeldUntilApprovedBySha256)
{
  // Bypass 1: old enough to pass the window, yet new bytes wait for a human.
  auto changed = k_old;
  changed.sha256 = Sha256::of("new bytes");
  changed.replaces = k_old.sha256;
  auto verdict = decide(changed);
  EXPECT_EQ(verdict.state, State::held);
  EXPECT_EQ(verdict.until, std::nullopt);
  EXPECT_EQ(verdict.reason.rfind("content changed upstream: " + k_old.sha256.hex() + " -> " + changed.sha256.hex(), 0),
            0u)
    << verdict.reason;
  EXPECT_EQ(decide(changed, {rule("litellm", RuleAction::allow)}).state, State::held) << "allow rules do not pass it";
  EXPECT_EQ(decide(changed, {}, {decision(DecisionAction::approve, "", changed.filename, {k_old.sha256})}).state,
            State::held)
    << "approving the old bytes does not approve the new";
  EXPECT_EQ(decide(changed, {}, {decision(DecisionAction::approve, "", changed.filename, {changed.sha256})}).state,
            State::approved);
}

TEST(Policy, ABackdatedFileCountsItsAgeFromFirstSight)
{
  // Bypass 4: a new file of a known project claiming an upload-time 400 days ago.
  auto backdated = file("litellm-1.82.9-py3-none-any.whl", "1.82.9", std::chrono::days{400});
  backdated.first_seen = k_now - 1h;
  backdated.backdated = true;
  EXPECT_EQ(age_origin(backdated), k_now - 1h);
  const auto verdict = decide(backdated);
  EXPECT_EQ(verdict.state, State::quarantined);
  EXPECT_EQ(verdict.until, k_now - 1h + std::chrono::days{7});
  EXPECT_NE(verdict.reason.find("first seen 1h 0m ago"), std::string::npos) << verdict.reason;
}

TEST(Policy, ReleaseDecisionsMatchByNormalizedVersion)
{
  auto f = k_new;
  f.version = "1.82.7.0";
  EXPECT_EQ(decide(f, {}, {decision(DecisionAction::approve, release_key("1.82.7"), "", {f.sha256})}).state,
            State::approved);
  EXPECT_EQ(release_key("1.0RC1"), "1rc1");
  EXPECT_EQ(release_key("1.82.7.0"), "1.82.7");
  EXPECT_EQ(release_key("2!1.0.0.post1"), "2!1.post1");
  EXPECT_EQ(release_key("10.0"), "10");
  EXPECT_EQ(release_key("1.0+local.0"), "1+local.0");
  EXPECT_EQ(release_key("not-pep440"), "not-pep440");
}

TEST(Policy, ReviewerBlockBeatsEverything)
{
  const std::vector<Decision> decisions{decision(DecisionAction::approve, "1.82.6", "", {k_old.sha256}),
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
    decide(k_new, {rule("litellm", RuleAction::block, "==1.82.7")},
           {decision(DecisionAction::approve, "1.82.7", "", {k_new.sha256})});
  EXPECT_EQ(verdict.state, State::blocked);
}

TEST(Policy, ReviewerApproveBeatsTheWindowAndAnAllowRuleNeedsNoApprove)
{
  Rule slow = rule("litellm", RuleAction::none);
  slow.quarantine = std::chrono::days{90};
  EXPECT_EQ(decide(k_old, {slow}, {decision(DecisionAction::approve, "1.82.6", "", {k_old.sha256})}).state,
            State::approved);
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

  // Decides files[index] with these check records (by filename, of the file's bytes).
  Verdict decide_with(std::size_t index, const std::map<std::string, storage::FileChecks>& checks,
                      Options options = {}, std::vector<Decision> decisions = {})
  {
    std::map<storage::FileKey, storage::FileChecks> by_file;
    for (const auto& entry : checks) {
      const auto& filename = entry.first;
      const auto it = std::find_if(files.begin(), files.end(), [&](const auto& f) { return f.filename == filename; });
      by_file.emplace(storage::FileKey{filename, it == files.end() ? Sha256{} : it->sha256}, entry.second);
    }
    const ProjectHistory history(files, std::move(by_file), k_now - std::chrono::days{20});
    const Policy policy(std::move(options));
    return policy.decide(files[index], ProjectContext{decisions, {}, &history}, k_now);
  }

  // Makes files[index] one that was older than the history horizon at the project's first sight.
  void make_established(std::size_t index, int days_old = 400)
  {
    files[index].upload_time = k_now - std::chrono::days{days_old};
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

TEST_F(HeldChecks, TwoReleasesInARowWithoutProvenanceAreBothHeld)
{
  // Bypass 3: 1.1 lost its provenance (held); 1.2 compares with the last verified release,
  // 1.0, not with 1.1, which proves nothing.
  const std::map<std::string, storage::FileChecks> checks{{files[0].filename, verified_by("BerriAI/litellm")},
                                                          {files[1].filename, absent()},
                                                          {files[2].filename, absent()}};
  EXPECT_EQ(decide_with(1, checks).state, State::held);
  const auto verdict = decide_with(2, checks);
  EXPECT_EQ(verdict.state, State::held);
  EXPECT_NE(verdict.reason.find("provenance regression: 1.0 was published"), std::string::npos) << verdict.reason;
}

TEST_F(HeldChecks, AHeldReleaseNeverBecomesTheBaseline)
{
  // A new publisher signs twice: the second is compared with 1.0, not with the held 1.1.
  const std::map<std::string, storage::FileChecks> checks{{files[0].filename, verified_by("BerriAI/litellm")},
                                                          {files[1].filename, verified_by("attacker/litellm")},
                                                          {files[2].filename, verified_by("attacker/litellm")}};
  EXPECT_EQ(decide_with(1, checks).state, State::held);
  const auto verdict = decide_with(2, checks);
  EXPECT_EQ(verdict.state, State::held);
  EXPECT_NE(verdict.reason.find("1.0 came from GitHub BerriAI/litellm"), std::string::npos) << verdict.reason;
}

TEST_F(HeldChecks, AReleaseAReviewerApprovedBecomesTheBaseline)
{
  std::map<std::string, storage::FileChecks> checks{{files[0].filename, verified_by("BerriAI/litellm")},
                                                    {files[1].filename, absent()},
                                                    {files[2].filename, absent()}};
  const std::vector<Decision> approved{decision(DecisionAction::approve, "1.1", "", {files[1].sha256})};
  EXPECT_EQ(decide_with(1, checks, {}, approved).state, State::approved);
  EXPECT_EQ(decide_with(2, checks, {}, approved).state, State::approved) << "1.1, approved without provenance";
  // Approved with a new publisher: that publisher is the baseline from then on.
  checks[files[1].filename] = verified_by("BerriAI/litellm-new");
  checks[files[2].filename] = verified_by("BerriAI/litellm-new");
  EXPECT_EQ(decide_with(2, checks, {}, approved).state, State::approved);
  checks[files[2].filename] = verified_by("BerriAI/litellm");
  EXPECT_EQ(decide_with(2, checks, {}, approved).state, State::held);
}

TEST_F(HeldChecks, NumericIdsTellARegisteredAgainNameApart)
{
  auto original = verified_by("BerriAI/litellm");
  original.repository_id = "671269505";
  original.owner_id = "121462774";
  auto same = original;
  auto squatter = original;
  squatter.owner_id = "999";
  auto without_ids = verified_by("BerriAI/litellm");
  EXPECT_EQ(decide_with(1, {{files[0].filename, original}, {files[1].filename, same}}).state, State::approved);
  const auto verdict = decide_with(1, {{files[0].filename, original}, {files[1].filename, squatter}});
  EXPECT_EQ(verdict.state, State::held);
  EXPECT_NE(verdict.reason.find("publisher changed"), std::string::npos) << verdict.reason;
  EXPECT_EQ(decide_with(1, {{files[0].filename, original}, {files[1].filename, without_ids}}).state,
            State::approved)
    << "certificates without the IDs compare by names";
}

TEST_F(HeldChecks, PendingOrFailedHistoryIsNeverAPass)
{
  // 1.0's checks have not finished: 1.1 cannot be compared with anything yet.
  auto verdict = decide_with(1, {{files[1].filename, absent()}});
  EXPECT_EQ(verdict.state, State::quarantined) << verdict.reason;
  EXPECT_NE(verdict.reason.find("checks pending"), std::string::npos) << verdict.reason;
  // Established history: its newest release is the baseline, checked; until then, pending.
  make_established(0);
  verdict = decide_with(1, {{files[1].filename, absent()}});
  EXPECT_EQ(verdict.state, State::quarantined);
  EXPECT_NE(verdict.reason.find("1.0, the release this one is compared with"), std::string::npos) << verdict.reason;
  EXPECT_EQ(decide_with(0, {}).state, State::approved) << "established history itself is approved on age";
  // Its checks failed for good: later files are held, not pending forever.
  auto failed = storage::FileChecks{};
  failed.gave_up = true;
  failed.failure = "provenance: upstream answered 503";
  verdict = decide_with(1, {{files[0].filename, failed}, {files[1].filename, absent()}});
  EXPECT_EQ(verdict.state, State::held);
  EXPECT_NE(verdict.reason.find("history unverifiable"), std::string::npos) << verdict.reason;
  EXPECT_NE(verdict.reason.find("upstream answered 503"), std::string::npos) << verdict.reason;
  // A file whose own checks failed for good is held too.
  verdict = decide_with(1, {{files[0].filename, absent()}, {files[1].filename, failed}});
  EXPECT_EQ(verdict.state, State::held);
  EXPECT_NE(verdict.reason.find("checks failed: provenance: upstream answered 503"), std::string::npos)
    << verdict.reason;
}

TEST_F(HeldChecks, ChecksAreNeededForTheBaselineAndNewerFilesOnly)
{
  for (int i = 0; i < 30; ++i) {
    files.push_back(file("litellm-0." + std::to_string(i) + ".tar.gz", "0." + std::to_string(i),
                         std::chrono::days{500 - i}));
  }
  make_established(0, 100); // 1.0: the newest release older than the horizon at first sight
  const Policy policy(Options{});
  const auto needed = policy.checks_needed(files, k_now - std::chrono::days{20});
  ASSERT_EQ(needed.size(), files.size());
  EXPECT_TRUE(needed[0]) << "the baseline";
  EXPECT_TRUE(needed[1]);
  EXPECT_TRUE(needed[2]);
  EXPECT_EQ(std::count(needed.begin(), needed.end(), true), 3);
  Options required;
  Rule rule_required = rule("litellm", RuleAction::none);
  rule_required.require_provenance = true;
  required.rules = {rule_required};
  const auto all = Policy(required).checks_needed(files, k_now - std::chrono::days{20});
  EXPECT_EQ(std::count(all.begin(), all.end(), true), static_cast<long>(files.size()));
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
  const std::string setuptools = Sha256::of("import os; var = 'SETUPTOOLS_USE_DISTUTILS'").hex();
  auto before = absent();
  before.executable_pth = {{"distutils-precedence.pth", setuptools}};
  auto after = absent();
  after.executable_pth = {{"distutils-precedence.pth", setuptools}, {"litellm_init.pth", Sha256::of("x").hex()}};
  const auto verdict = decide_with(1, {{files[0].filename, before}, {files[1].filename, after}});
  EXPECT_EQ(verdict.state, State::held);
  EXPECT_NE(verdict.reason.find("litellm_init.pth"), std::string::npos) << verdict.reason;
  EXPECT_EQ(verdict.reason.find("distutils-precedence.pth"), std::string::npos) << "it shipped before";
  EXPECT_EQ(decide_with(1, {{files[0].filename, before}, {files[1].filename, before}}).state, State::approved);
  EXPECT_EQ(decide_with(0, {{files[0].filename, after}}).state, State::approved)
    << "a first release has nothing to compare with";
}

TEST_F(HeldChecks, NewCodeInAnExistingPthIsHeld)
{
  auto before = absent();
  before.executable_pth = {{"distutils-precedence.pth", Sha256::of("import os; setuptools").hex()}};
  auto after = absent();
  after.executable_pth = {{"distutils-precedence.pth", Sha256::of("import os; exfiltrate()").hex()}};
  const auto verdict = decide_with(1, {{files[0].filename, before}, {files[1].filename, after}});
  EXPECT_EQ(verdict.state, State::held);
  EXPECT_NE(verdict.reason.find("changes code that runs at every Python start: distutils-precedence.pth"),
            std::string::npos)
    << verdict.reason;
}

TEST_F(HeldChecks, ReviewerApproveReleasesAHeldFileAndBlockBeatsIt)
{
  const std::map<std::string, storage::FileChecks> checks{{files[0].filename, verified_by("BerriAI/litellm")},
                                                          {files[1].filename, absent()}};
  EXPECT_EQ(decide_with(1, checks, {}, {decision(DecisionAction::approve, "1.1", "", {files[1].sha256})}).state,
            State::approved);
  EXPECT_EQ(decide_with(1, checks, {}, {decision(DecisionAction::block, "1.1")}).state, State::blocked);
}

TEST(Policy, StateNames)
{
  EXPECT_EQ(to_string(State::approved), "approved");
  EXPECT_EQ(to_string(State::quarantined), "quarantined");
  EXPECT_EQ(to_string(State::held), "held");
  EXPECT_EQ(to_string(State::blocked), "blocked");
}


TEST(Policy, AFileOnAHostNotAllowedIsHeldWhateverItsAgeOrApproval)
{
  EXPECT_EQ(url_host("https://Files.PythonHosted.org/packages/a/b.whl"), "files.pythonhosted.org");
  EXPECT_EQ(url_host("http://user@[::1]:8080/x"), "::1");
  EXPECT_EQ(url_host("http://127.0.0.2:9/x"), "127.0.0.2");
  EXPECT_EQ(url_host("not a url"), "");
  Options options;
  options.file_hosts = {"pypi.org", "files.pythonhosted.org"};
  auto f = k_old;
  f.url = "https://files.pythonhosted.org/packages/" + f.filename;
  EXPECT_EQ(decide(f, {}, {}, {}, options).state, State::approved);
  f.url = "https://evil.example/" + f.filename;
  const auto approval = decision(DecisionAction::approve, "1.82.6", "", {f.sha256});
  const auto verdict = decide(f, {}, {approval}, {}, options);
  EXPECT_EQ(verdict.state, State::held);
  EXPECT_EQ(verdict.reason, "file URL on a host that is not allowed: evil.example");
}

// --- advisories ------------------------------------------------------------------------------

namespace advisory_tests {

Advisory
record(std::string id, std::vector<std::string> versions, Severity severity = Severity::none)
{
  Advisory a;
  a.id = std::move(id);
  a.malicious = a.id.starts_with("MAL-");
  a.severity = severity;
  a.summary = "bad things";
  a.modified = k_now - 1h;
  AffectedProject affected;
  affected.project = "litellm";
  affected.versions = std::move(versions);
  a.affected = {affected};
  return a;
}

// A range "introduced 0, fixed <fixed>".
Advisory
fixed_in(std::string id, std::string fixed, Severity severity)
{
  auto a = record(std::move(id), {}, severity);
  a.affected[0].ranges = {VersionRange{{{VersionRange::Event::introduced, "0"}, {VersionRange::Event::fixed, fixed}}}};
  a.affected[0].fixed = {fixed};
  return a;
}

Verdict
decide_under(const Advisories& advisories, const storage::FileRecord& f, Options options = {},
             std::vector<Decision> decisions = {}, bool frozen = false)
{
  const Policy policy(std::move(options));
  ProjectContext context{decisions, {}};
  context.advisories = advisories.for_project("litellm");
  context.frozen = frozen;
  return policy.decide(f, context, k_now);
}

} // namespace advisory_tests

TEST(PolicyAdvisories, AMaliciousRecordBlocksWhatItNamesOverAnApproval)
{
  using namespace advisory_tests;
  std::vector<Advisory> records{record("MAL-2026-2144", {"1.82.7", "1.82.8"})};
  const Advisories advisories(std::move(records));
  auto verdict = decide_under(advisories, k_new);
  EXPECT_EQ(verdict.state, State::blocked);
  EXPECT_EQ(verdict.reason, "advisory MAL-2026-2144: malicious package (bad things)");
  EXPECT_FALSE(verdict.live_only) << "malicious records withhold frozen files too";
  EXPECT_EQ(decide_under(advisories, k_old).state, State::approved) << "1.82.6 is not named";
  // A reviewer's approval of the bytes does not outrank it; a reviewer's block still does.
  const auto approval = decision(DecisionAction::approve, "1.82.7", "", {k_new.sha256});
  EXPECT_EQ(decide_under(advisories, k_new, {}, {approval}).state, State::blocked);
  const auto block = decision(DecisionAction::block, "1.82.7");
  EXPECT_EQ(decide_under(advisories, k_new, {}, {block}).reason.rfind("blocked by alice", 0), 0U);
  // In a snapshot's frozen view too.
  EXPECT_EQ(decide_under(advisories, k_new, {}, {}, true).state, State::blocked);
}

TEST(PolicyAdvisories, AReviewersUnblockOfTheBytesSetsAdvisoriesAside)
{
  using namespace advisory_tests;
  std::vector<Advisory> records{record("MAL-2026-2144", {"1.82.6"})};
  const Advisories advisories(std::move(records));
  auto unblock = decision(DecisionAction::unblock, "", k_old.filename, {k_old.sha256});
  auto verdict = decide_under(advisories, k_old, {}, {unblock});
  EXPECT_EQ(verdict.state, State::approved);
  EXPECT_EQ(verdict.reason.rfind("unblocked over advisories by alice", 0), 0U) << verdict.reason;
  // Other bytes under the same name are not covered.
  auto other = k_old;
  other.sha256 = Sha256::of("other bytes");
  EXPECT_EQ(decide_under(advisories, other, {}, {unblock}).state, State::blocked);
}

TEST(PolicyAdvisories, SeverityBlocksOnlyAtOrAboveTheThresholdAndOnlyLive)
{
  using namespace advisory_tests;
  std::vector<Advisory> records{fixed_in("GHSA-high", "1.82.7", Severity::high),
                                fixed_in("GHSA-low", "1.83", Severity::medium)};
  const Advisories advisories(std::move(records));
  EXPECT_EQ(decide_under(advisories, k_old).state, State::approved) << "block_severity defaults to none";
  Options options;
  options.block_severity = Severity::high;
  auto verdict = decide_under(advisories, k_old, options);
  EXPECT_EQ(verdict.state, State::blocked);
  EXPECT_EQ(verdict.reason, "advisory GHSA-high: high (bad things)");
  EXPECT_TRUE(verdict.live_only);
  EXPECT_EQ(decide_under(advisories, k_old, options, {}, true).state, State::approved)
    << "CI pinned frozen files knowingly";
  options.block_severity = Severity::critical;
  EXPECT_EQ(decide_under(advisories, k_old, options).state, State::approved);
  options.block_severity = Severity::medium;
  EXPECT_EQ(decide_under(advisories, k_old, options).reason, "advisory GHSA-high: high (bad things); also GHSA-low");
}

TEST(PolicyAdvisories, AHeldRecordBlocksOnlyWhatItBlockedBefore)
{
  using namespace advisory_tests;
  std::vector<Advisory> records{record("MAL-2026-2144", {"1.82.6", "1.82.7"})};
  const Advisories held(std::move(records),
                        {{"MAL-2026-2144", {storage::FileKey{k_new.filename, k_new.sha256}}}});
  EXPECT_EQ(decide_under(held, k_new).state, State::blocked);
  EXPECT_EQ(decide_under(held, k_old).state, State::approved);
}

TEST_F(HeldChecks, AFixFromTheBaselinePublisherIsFastTrackedAfterTheMinimum)
{
  using namespace advisory_tests;
  // 1.0 and 1.1 old and verified; 1.2 uploaded 30 h ago, named as the fix of 1.1's vulnerability.
  files[2].upload_time = k_now - 30h;
  std::vector<Advisory> records{fixed_in("GHSA-fix", "1.2", Severity::high)};
  records[0].affected[0].ranges[0].events[0].second = "1.1";
  const Advisories advisories(std::move(records));
  std::map<storage::FileKey, storage::FileChecks> checks;
  for (const auto& f : files) {
    checks.emplace(storage::FileKey{f.filename, f.sha256}, verified_by("BerriAI/litellm"));
  }
  const ProjectHistory history(files, checks, k_now - std::chrono::days{20});
  Options options;
  options.fast_track_fixes = true;
  const auto decide_fix = [&](const Options& o, const ProjectHistory& h) {
    ProjectContext context{{}, {}, &h};
    context.advisories = advisories.for_project("litellm");
    return Policy(o).decide(files[2], context, k_now);
  };
  auto verdict = decide_fix(options, history);
  EXPECT_EQ(verdict.state, State::approved) << verdict.reason;
  EXPECT_NE(verdict.reason.find("fast-tracked: fixes GHSA-fix, which affects 1.1"), std::string::npos)
    << verdict.reason;
  EXPECT_EQ(decide_fix(Options{}, history).state, State::quarantined) << "off by default";
  options.fast_track_min = std::chrono::hours{48};
  verdict = decide_fix(options, history);
  EXPECT_EQ(verdict.state, State::quarantined);
  EXPECT_EQ(verdict.until, *files[2].upload_time + std::chrono::hours{48});
  // From another publisher (a stolen token with its own workflow): the usual window.
  options.fast_track_min = std::chrono::hours{24};
  checks[storage::FileKey{files[2].filename, files[2].sha256}] = verified_by("attacker/litellm");
  const ProjectHistory stolen(files, checks, k_now - std::chrono::days{20});
  EXPECT_NE(decide_fix(options, stolen).state, State::approved);
}

} // namespace
} // namespace airlock::policy
