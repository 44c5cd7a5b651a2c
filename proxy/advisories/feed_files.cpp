// The feed's files: record files found, read and parsed, a cheap fingerprint of them, and the
// records admins import, kept durably.
#include "advisories/feed.hpp"

#include <airlock/util/fd.hpp>
#include <airlock/util/fs.hpp>
#include <airlock/util/sha256.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace airlock::proxy {

namespace fs = std::filesystem;

namespace {

// A single record file this large is not an OSV record; a zip this large is not a feed.
constexpr std::uint64_t k_max_json_file = policy::k_zip_max_record_size;
constexpr std::uint64_t k_max_zip_file = 512ULL << 20;

Expected<std::string>
read_file(const fs::path& path, std::uint64_t limit)
{
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st{};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    return make_unexpected(fmt::format("cannot read: {}", errno_text()));
  }
  if (static_cast<std::uint64_t>(st.st_size) > limit) {
    return make_unexpected(fmt::format("{} bytes, over the limit of {}", st.st_size, limit));
  }
  std::string out(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    const auto n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return make_unexpected(fmt::format("cannot read: {}", n == 0 ? "file shrank while read" : errno_text()));
    }
    done += static_cast<std::size_t>(n);
  }
  return out;
}

bool
is_record_file(const fs::path& path)
{
  const auto ext = path.extension();
  return ext == ".json" || ext == ".zip";
}

// The record files under the directories, sorted, with their sizes and modification times.
std::vector<std::pair<fs::path, struct stat>>
list_record_files(const std::vector<fs::path>& dirs, bool* missing)
{
  std::vector<std::pair<fs::path, struct stat>> out;
  for (std::size_t d = 0; d < dirs.size(); ++d) {
    std::error_code ec;
    fs::recursive_directory_iterator it(dirs[d], fs::directory_options::skip_permission_denied, ec);
    if (ec) {
      if (d == 0 && missing != nullptr) {
        *missing = true;
      }
      continue;
    }
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      struct stat st{};
      if (!is_record_file(it->path()) || ::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        continue;
      }
      out.emplace_back(it->path(), st);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

void
add_record(LoadedFeed& feed, std::string_view where, std::string_view text)
{
  auto record = policy::parse_osv_record(text);
  if (!record) {
    feed.problems.push_back(fmt::format("{}: {}", where, record.error()));
    return;
  }
  for (const auto& note : record->notes) {
    feed.notes.push_back(fmt::format("{}: {}", record->id, note));
  }
  if (!record->affected.empty()) {
    feed.records.push_back(std::move(*record));
  }
}

// Writes `bytes` to `path` durably: a temp file, fsync, rename, fsync of the directory.
Expected<void>
write_durably(const fs::path& path, std::string_view bytes)
{
  const fs::path temp = path.string() + ".tmp";
  Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) {
    return make_unexpected(fmt::format("cannot create {}: {}", temp.string(), errno_text()));
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return make_unexpected(fmt::format("cannot write {}: {}", temp.string(), errno_text()));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || ::rename(temp.c_str(), path.c_str()) != 0) {
    return make_unexpected(fmt::format("cannot store {}: {}", path.string(), errno_text()));
  }
  return fsync_dir(path.parent_path());
}

} // namespace

LoadedFeed
load_feed(const std::vector<fs::path>& dirs)
{
  LoadedFeed feed;
  for (const auto& listed : list_record_files(dirs, &feed.missing)) {
    const fs::path& path = listed.first; // named, not bound: clang 14 cannot capture bindings
    ++feed.files;
    const bool zip = path.extension() == ".zip";
    auto bytes = read_file(path, zip ? k_max_zip_file : k_max_json_file);
    if (!bytes) {
      feed.problems.push_back(fmt::format("{}: {}", path.string(), bytes.error()));
      continue;
    }
    if (!zip) {
      add_record(feed, path.string(), *bytes);
      continue;
    }
    const auto skipped = policy::for_each_zip_record(*bytes, [&](std::string_view name, std::string_view text) {
      add_record(feed, fmt::format("{}!{}", path.string(), name), text);
    });
    if (!skipped) {
      feed.problems.push_back(fmt::format("{}: {}", path.string(), skipped.error()));
      continue;
    }
    for (const auto& entry : *skipped) {
      feed.problems.push_back(fmt::format("{}: {}", path.string(), entry));
    }
  }
  return feed;
}

std::string
feed_fingerprint(const std::vector<fs::path>& dirs)
{
  std::string out;
  for (const auto& [path, st] : list_record_files(dirs, nullptr)) {
    out += fmt::format("{}\n{} {}.{}\n", path.string(), st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  }
  return out;
}

Expected<fs::path>
keep_imported(const fs::path& dir, std::string_view bytes)
{
  const bool zip = bytes.starts_with("PK");
  if (zip) {
    const auto records = policy::read_zip_records(bytes);
    if (!records) {
      return make_unexpected("not a zip of OSV records: " + records.error());
    }
    if (records->records.empty()) {
      return make_unexpected("the zip holds no .json records");
    }
  } else if (const auto record = policy::parse_osv_record(bytes); !record) {
    return make_unexpected("not an OSV record: " + record.error());
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return make_unexpected(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  }
  // Named by content: importing the same record twice keeps one copy.
  auto path = dir / (Sha256::of(bytes).hex() + (zip ? ".zip" : ".json"));
  if (auto written = write_durably(path, bytes); !written) {
    return make_unexpected(written.error());
  }
  return path;
}

} // namespace airlock::proxy
