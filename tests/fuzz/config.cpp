// The TOML configuration (toml++ and Airlock's checks of every key). Operators write it, but a
// bad file must give one clear line, never a crash: any exception other than ConfigError fails.
// Properties: messages are one printable line naming the file; an accepted config has an upstream
// index ending in '/', a listen port and a window within their documented ranges.

#include "fuzz.hpp"

#include <airlock/proxy/config.hpp>
#include <airlock/util/error.hpp>

#include <string>

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string source = "fuzz.toml";
  try {
    const auto config = airlock::proxy::parse_config(airlock::fuzz::as_text(data, size), source);
    FUZZ_CHECK(config.upstream.index.ends_with("/"));
    FUZZ_CHECK(config.server.threads <= 1024);
    FUZZ_CHECK(config.upstream.timeout.count() >= 1);
  } catch (const airlock::ConfigError& e) {
    const std::string_view message = e.what();
    if (message.find(source) == std::string_view::npos) {
      FUZZ_CHECK_EQ(message, "a message naming " + source);
    }
    for (const unsigned char c : message) {
      FUZZ_CHECK(c >= 0x20 && c != 0x7f);
    }
  }
  return 0;
}
