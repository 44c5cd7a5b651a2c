#pragma once

// Locale-free ASCII character tests for the name, filename and version parsers (private to
// policy/): <cctype> answers by the C locale, and names and versions are ASCII.

namespace airlock::policy::ascii {

inline bool
is_digit(char c)
{
  return c >= '0' && c <= '9';
}

inline bool
is_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c);
}

inline char
to_lower(char c)
{
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// '-', '_' and '.': the separators PEP 503 folds in project names and PEP 440 allows in versions.
inline bool
is_separator(char c)
{
  return c == '-' || c == '_' || c == '.';
}

} // namespace airlock::policy::ascii
