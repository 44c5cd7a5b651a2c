#include "testutil.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace airlock::test {

TempDir::TempDir()
{
  std::string pattern = (std::filesystem::temp_directory_path() / "airlock-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed for " + pattern);
  }
  m_path = pattern;
}

TempDir::~TempDir()
{
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

std::string
read_file(const std::filesystem::path& path)
{
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + path.string());
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void
write_file(const std::filesystem::path& path, const std::string& content)
{
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path());
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

std::filesystem::path
shared_dir()
{
  if (const char* env = std::getenv("AIRLOCK_SHARED_DIR")) {
    return env;
  }
  return AIRLOCK_SHARED_DIR;
}

} // namespace airlock::test
