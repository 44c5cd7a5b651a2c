// Small text helpers for protocol tokens: ASCII only, so no locale can change a comparison
// of schemes, hosts or media types.
#include <airlock/util/text.hpp>

namespace airlock {

std::string
lowercase(std::string_view text)
{
  std::string out(text);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

} // namespace airlock
