// File system basics shared by the blob store and the TUF repository: the text of errno,
// and the directory fsync that makes a create or rename durable.
#pragma once

#include <airlock/util/error.hpp>

#include <filesystem>
#include <string>

namespace airlock {

// Returns strerror(errno) for the calling thread's current errno.
std::string errno_text();

// Fsyncs the directory `dir`, so an entry created or renamed in it survives a crash; fails
// with a one-line message naming `dir`.
Expected<void> fsync_dir(const std::filesystem::path& dir);

} // namespace airlock
