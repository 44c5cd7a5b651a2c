#pragma once

#include <filesystem>
#include <string>

namespace airlock::test {

// A fresh directory under the system temp dir, removed (recursively) on destruction.
class TempDir
{
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return m_path; }

private:
  std::filesystem::path m_path;
};

// Reads a whole file; throws std::runtime_error naming the path when it cannot.
std::string read_file(const std::filesystem::path& path);
// Writes a whole file (creating parent directories).
void write_file(const std::filesystem::path& path, const std::string& content);

// ../shared beside the checkout (fixtures). Tests that need it skip with a clear message
// when it is missing, outside CI.
std::filesystem::path shared_dir();

} // namespace airlock::test
