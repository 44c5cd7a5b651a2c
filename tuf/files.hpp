// Files of a TUF repository (private to tuf/): secret key files, metadata replaced
// atomically, one filesystem sync per publication, and bounded reads.
#pragma once

#include <airlock/util/error.hpp>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace airlock::tuf {

// Creates `path` (which must not exist) with mode 0600 and `secret`, fsynced with its directory.
Expected<void> write_secret_file(const std::filesystem::path& path, std::string_view secret);

enum class Fsync { yes, no };

// Replaces `path` atomically: temp file, (fsync), rename, (fsync of the directory). Fsync::no
// is for files made durable together by sync_filesystem() before anything refers to them.
Expected<void> write_file_atomic(const std::filesystem::path& path, std::string_view data, Fsync fsync = Fsync::yes);

// Syncs the filesystem holding `dir`: one syncfs() for a publication's many files (256 bins),
// instead of two fsyncs each.
Expected<void> sync_filesystem(const std::filesystem::path& dir);

// Returns the bytes of `path`, or nullopt when it cannot be read or holds more than `max_bytes`.
std::optional<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_bytes);

} // namespace airlock::tuf
