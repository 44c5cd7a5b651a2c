// The state of a TUF repository (private to tuf/): its keys and what it last published,
// shared by publishing (repository.cpp) and key rotation (rotation.cpp).
#pragma once

#include <airlock/tuf/repository.hpp>

#include "files.hpp"
#include "keys.hpp"

#include <airlock/util/fd.hpp>

#include <boost/json/object.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::tuf {

inline constexpr std::size_t k_bin_count = 256;
inline constexpr std::array<std::string_view, 4> k_online_roles = {"targets", "snapshot", "timestamp", "bins"};

// What one published role file is, as the next publication needs it.
struct Published
{
  std::uint64_t version = 0;
  Time expires{};
  std::string signer; // key id that signed it
  std::string bytes;  // the file as published (hashed into snapshot/timestamp)
};

// A root change under way (a rotation or a renewal): the file lock, held until it is
// destroyed; the root key and where it lives; the next root's "signed" part, to be filled.
struct RootChange
{
  Fd file_lock;
  std::filesystem::path root_path;
  SigningKey root_key;
  boost::json::object root;
};

struct Repository::Impl
{
  std::filesystem::path dir;
  Expirations expirations;
  mutable std::mutex mutex;

  std::optional<SigningKey> targets_key;
  std::optional<SigningKey> snapshot_key;
  std::optional<SigningKey> timestamp_key;
  std::optional<SigningKey> bins_key;

  boost::json::object root_signed; // the newest root's "signed"
  std::string root_bytes;          // the newest root file, to notice another process's rotation
  std::uint64_t root_version = 0;
  Time root_expires{};

  Published targets;
  std::string delegated_keyid; // the bins key id targets delegates to
  std::array<Published, k_bin_count> bins;
  std::array<std::string, k_bin_count> bin_contents; // canonical JSON of each bin's "targets"
  Published snapshot;
  Published timestamp;

  std::filesystem::path keys_dir() const { return dir / "keys"; }
  std::filesystem::path metadata_dir() const { return dir / "metadata"; }
  std::filesystem::path default_root_key() const { return keys_dir() / "root.key"; }

  Expected<void> write_metadata(std::string_view filename, std::string_view bytes, Fsync fsync = Fsync::yes) const
  {
    return write_file_atomic(metadata_dir() / std::string(filename), bytes, fsync);
  }

  Expected<void> write_root(boost::json::object signed_part, const std::vector<const SigningKey*>& signers);
  Expected<void> sign_and_publish(const std::vector<Target>* targets, Time now, Seconds margin_override,
                                  bool use_margin, bool* changed);
  Expected<void> load_state();
  Expected<void> load();
  Expected<Fd> lock_exclusive() const;
  Expected<void> reload_if_changed();
  // Takes the file lock (held until the returned Fd closes), then reloads what another
  // process published or rotated meanwhile: the start of every write.
  Expected<Fd> lock_for_writing();
  // Finishes or undoes a key rotation (online keys, or the root key at its default path) that
  // stopped before renaming its ".new" key files: the newest root decides.
  Expected<void> settle_rotation();
  // With both locks held and the state up to date: settles an interrupted root rotation,
  // then loads the root key at `path`, checking that it is the key root.json names.
  Expected<SigningKey> load_root_key(const std::filesystem::path& path);
  // With `mutex` held: takes the file lock, loads the root key at `root_key_path` (else
  // keys/root.key) and starts the next root version, expiring a root lifetime after `now`.
  Expected<RootChange> begin_root_change(const std::filesystem::path& root_key_path, Time now);
};

} // namespace airlock::tuf
