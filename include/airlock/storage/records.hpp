#pragma once

// The records Airlock stores: files, projects, blobs, decisions, audit entries, tokens,
// snapshots and check results. Plain values; storage/codec.cpp encodes them.

#include <airlock/util/sha256.hpp>
#include <airlock/util/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace airlock::storage {

// One distribution file as upstream listed it, plus what Airlock observed about it. A file is
// its bytes: (project, filename, sha256) is its key, so new bytes under a known filename are
// another record, with a clock and checks of their own.
struct FileRecord
{
  std::string project;  // PEP 503-normalized project name
  std::string filename; // as upstream named it; validated (no '/', no control characters)
  std::string version;  // parsed from the filename; empty when it cannot be parsed
  Sha256 sha256;        // what upstream declared; the only bytes Airlock will serve
  std::uint64_t size = 0;                 // 0 when upstream gave none
  std::optional<Time> upload_time;        // PEP 700; nullopt when upstream gave none
  Time first_seen{};                      // when Airlock first saw it in a listing
  std::string requires_python;            // empty when none
  std::optional<std::string> yanked;      // PEP 592: nullopt = not yanked, "" = no reason
  std::optional<Sha256> core_metadata;    // PEP 658/714 metadata file hash, when declared
  std::string url;                        // absolute upstream URL of the file
  std::optional<Time> removed_upstream;   // when it vanished from the upstream listing
  // PEP 740: the provenance URL upstream listed for the file; "" when it listed null (no
  // provenance), nullopt when it said nothing (the Integrity API path is tried).
  std::optional<std::string> provenance_url;
  // The bytes upstream listed under this filename before these: a content change, which a
  // reviewer must approve by sha256. nullopt for a file that is new by name.
  std::optional<Sha256> replaces;
  // When upstream began listing other bytes under this filename; nullopt while these are
  // the listed ones. Not a takedown: the filename is still listed.
  std::optional<Time> replaced_upstream;
  // The file appeared in a known project claiming an upload-time older than the listing
  // before it: its age counts from first_seen, not from the claim.
  bool backdated = false;

  friend bool operator==(const FileRecord&, const FileRecord&) = default;
};

// A file's identity within its project.
struct FileKey
{
  std::string filename;
  Sha256 sha256;

  friend bool operator==(const FileKey&, const FileKey&) = default;
  friend auto operator<=>(const FileKey&, const FileKey&) = default;
};

// What Airlock knows about a project's upstream listing.
struct ProjectRecord
{
  std::string name;          // PEP 503-normalized
  std::string etag;          // upstream ETag, for If-None-Match; empty when none
  Time fetched_at{};         // last successful fetch or revalidation
  Time first_seen{};         // when Airlock first fetched the project
  std::string status;        // PEP 792 project-status; empty = active/unspecified
  std::string status_reason; // PEP 792 reason, if any

  friend bool operator==(const ProjectRecord&, const ProjectRecord&) = default;
};

// A blob that is in the content-addressed store.
struct BlobRecord
{
  std::uint64_t size = 0;
  Time stored_at{};

  friend bool operator==(const BlobRecord&, const BlobRecord&) = default;
};

} // namespace airlock::storage

namespace airlock::storage {

// unblock: an approval of one file's bytes that also sets aside the advisories blocking them.
enum class DecisionAction : std::uint8_t { approve = 1, block = 2, unblock = 3 };

// A reviewer's standing decision about a whole project (version and filename empty), one
// release (version set: its normalized PEP 440 form, or the filename's raw version) or one
// file (filename set). An approval covers only the bytes it names (`sha256s`: every file of
// the release, or the one file, as the reviewer saw them); a block covers its whole scope,
// files that appear later included.
struct Decision
{
  std::string project;
  std::string version;
  std::string filename;
  DecisionAction action = DecisionAction::block;
  std::string actor;
  std::string reason;
  Time time{};
  std::vector<Sha256> sha256s; // approvals: the bytes covered, sorted; blocks: empty

  friend bool operator==(const Decision&, const Decision&) = default;
};

// One line of the append-only audit log: who did what, why, and what it changed.
struct AuditEntry
{
  std::uint64_t id = 0; // assigned by the store on append: increasing, never reused
  Time time{};
  std::string actor;    // a token's name, or "airlock" for the system itself
  std::string action;   // "approve", "block", "unblock", "token-create", ...
  std::string project;  // empty when not about a project
  std::string version;  // empty = none
  std::string filename; // empty = none
  std::string reason;
  std::string before;   // state(s) before, e.g. "quarantined"
  std::string after;
  std::vector<Sha256> sha256s; // the bytes an approval covers; empty otherwise

  friend bool operator==(const AuditEntry&, const AuditEntry&) = default;
};

enum class Role : std::uint8_t { reader = 1, reviewer = 2, admin = 3 };

// An API token as stored: never the token itself, only a hash of its secret part.
struct TokenRecord
{
  std::string id;      // the public part of the token, its lookup key
  std::string name;    // the audit actor
  Role role = Role::reader;
  Sha256 secret_hash;  // BLAKE2b-256 of the secret part
  Time created_at{};

  friend bool operator==(const TokenRecord&, const TokenRecord&) = default;
};

} // namespace airlock::storage

namespace airlock::storage {

// A file an advisory blocked when the feed was last applied: what the next refresh compares
// with, to audit what it blocks and lifts.
struct AdvisoryBlock
{
  std::string advisory; // the OSV id
  std::string project;
  std::string filename;
  Sha256 sha256;
  std::string version;

  friend bool operator==(const AdvisoryBlock&, const AdvisoryBlock&) = default;
  friend auto operator<=>(const AdvisoryBlock&, const AdvisoryBlock&) = default;
};

// A frozen view of every approved file at one moment, for CI.
struct SnapshotRecord
{
  std::string name;
  Time created_at{};
  std::string created_by;
  std::uint64_t projects = 0;
  std::uint64_t files = 0;
  std::uint64_t bytes = 0; // sum of the files' declared sizes

  friend bool operator==(const SnapshotRecord&, const SnapshotRecord&) = default;
};

} // namespace airlock::storage

namespace airlock::storage {

enum class ProvenanceState : std::uint8_t { pending = 0, verified = 1, absent = 2, invalid = 3 };

// Code that runs at every Python start (an executable .pth, a sitecustomize module), by its
// name as installed and the sha256 (hex) of its content; "" when the content is unknown.
struct StartupFile
{
  std::string name;
  std::string sha256;

  friend bool operator==(const StartupFile&, const StartupFile&) = default;
};

// What Airlock's background checks found out about one file (its bytes): its PEP 740
// provenance and, for wheels, what the archive ships.
struct FileChecks
{
  ProvenanceState provenance = ProvenanceState::pending;
  std::string reason_class;        // why invalid (a provenance reason class), or why absent
  std::string reason;              // one line for humans
  std::string publisher_kind;      // verified: "GitHub", "GitLab", "Google"
  std::string repository;
  std::string workflow;
  std::string email;
  // The certificate's numeric repository and owner IDs (Fulcio 1.3.6.1.4.1.57264.1.15 and
  // .17): a re-registered name keeps the name, not the ID. "" when the certificate has none.
  std::string repository_id;
  std::string owner_id;
  Time signed_at{};
  std::string document;            // the verified provenance JSON, served under /integrity/
  std::uint32_t attempts = 0;      // provenance fetches that failed transiently
  bool inspected = false;          // wheel contents read (always true for non-wheels)
  std::string inspection_error;    // why the wheel could not be read (then inspected = true)
  std::vector<StartupFile> executable_pth; // code that runs at every Python start
  std::vector<std::string> top_level;      // top-level import names
  Time checked_at{};
  // The contents were read by Range requests, before any full download verified the bytes:
  // the first full download inspects them again.
  bool inspected_by_range = false;
  // The retry schedule ended without an answer; `failure` says why. Never cleared by itself.
  bool gave_up = false;
  std::string failure; // the last transient failure, for humans

  friend bool operator==(const FileChecks&, const FileChecks&) = default;
};

} // namespace airlock::storage
