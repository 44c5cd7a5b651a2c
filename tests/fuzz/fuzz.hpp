#pragma once

// Shared by the libFuzzer targets: a property check that crashes (so libFuzzer keeps the input)
// with a message, and input helpers.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#define FUZZ_CHECK(condition)                                                                        \
  do {                                                                                               \
    if (!(condition)) {                                                                              \
      std::fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #condition);           \
      std::abort();                                                                                  \
    }                                                                                                \
  } while (false)

// Like FUZZ_CHECK(a == b), printing both sides (strings escaped, numbers, optionals).
#define FUZZ_CHECK_EQ(a, b) ::airlock::fuzz::check_eq((a), (b), #a " == " #b, __FILE__, __LINE__)

namespace airlock::fuzz {

inline std::string
describe(std::string_view text)
{
  std::string out = "\"";
  for (const unsigned char c : text) {
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      char buffer[8];
      std::snprintf(buffer, sizeof(buffer), "\\x%02x", c);
      out += buffer;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

template<typename T>
std::string
describe(const T& value)
{
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return describe(std::string_view(value));
  } else if constexpr (std::is_integral_v<T>) {
    return std::to_string(value);
  } else if constexpr (requires { value.hex(); }) {
    return value.hex();
  } else if constexpr (requires { value.has_value(); *value; }) {
    return value.has_value() ? describe(*value) : std::string("nullopt");
  } else {
    return "(not printable)";
  }
}

template<typename A, typename B>
void
check_eq(const A& a, const B& b, const char* expression, const char* file, int line)
{
  if (!(a == b)) {
    std::fprintf(stderr, "%s:%d: property failed: %s\n  left:  %s\n  right: %s\n", file, line, expression,
                 describe(a).c_str(), describe(b).c_str());
    std::abort();
  }
}

inline std::string_view
as_text(const std::uint8_t* data, std::size_t size)
{
  return {reinterpret_cast<const char*>(data), size};
}

// Splits off the text before the first `separator` (all of it when there is none).
inline std::string_view
take_until(std::string_view& rest, char separator)
{
  const auto at = rest.find(separator);
  const auto head = rest.substr(0, at);
  rest = at == std::string_view::npos ? std::string_view{} : rest.substr(at + 1);
  return head;
}

} // namespace airlock::fuzz
