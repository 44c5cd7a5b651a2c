#pragma once

// Private to proxy/: reading the TOML configuration: one Section per table, taking each known
// key once, and every Problem found, reported together as one line.

#include <airlock/util/error.hpp>
#include <airlock/util/time.hpp>
#include <airlock/util/units.hpp>

#include <fmt/core.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace airlock::proxy::config_reader {

// Escapes control characters: messages echo values from the file, and TOML strings may hold
// "\n", which would break the one-line error contract of the command line.
inline std::string
one_line(std::string_view text)
{
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == '\x7f') {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

// Every problem found in one file. Reading goes on after a problem so that all of them are
// reported at once: fixing a config one error per restart wastes an operator's afternoon.
class Problems
{
public:
  explicit Problems(const std::string& source) : m_source(source) {}

  std::string
  where(std::uint32_t line) const
  {
    return fmt::format("{}:{}", m_source, line);
  }

  void
  add(std::uint32_t line, std::string message)
  {
    m_problems.emplace_back(line, std::move(message));
  }

  // Throws ConfigError with every problem, in file order, when there is any.
  void
  throw_if_any()
  {
    if (m_problems.empty()) {
      return;
    }
    std::stable_sort(m_problems.begin(), m_problems.end(), [](const auto& a, const auto& b) {
      return a.first < b.first;
    });
    std::string message;
    for (const auto& [line, text] : m_problems) {
      if (!message.empty()) {
        message += "; ";
      }
      message += text;
    }
    throw ConfigError(one_line(message));
  }

private:
  std::string m_source;
  std::vector<std::pair<std::uint32_t, std::string>> m_problems;
};

inline std::string_view
type_name(toml::node_type type)
{
  switch (type) {
  case toml::node_type::none:
    return "nothing";
  case toml::node_type::table:
    return "table";
  case toml::node_type::array:
    return "array";
  case toml::node_type::string:
    return "string";
  case toml::node_type::integer:
    return "integer";
  case toml::node_type::floating_point:
    return "float";
  case toml::node_type::boolean:
    return "boolean";
  case toml::node_type::date:
    return "date";
  case toml::node_type::time:
    return "time";
  case toml::node_type::date_time:
    return "date-time";
  }
  return "value";
}

// One TOML table being read. Each known key is taken once; whatever is left when the section
// is finished is an unknown key (a typo such as "lisen" must not silently mean the default).
class Section
{
public:
  Section(Problems& problems, const toml::table& table, std::string prefix)
    : m_problems(problems),
      m_table(table),
      m_prefix(std::move(prefix))
  {
  }

  // "server.listen", or "listen" for the top level.
  std::string
  name(std::string_view key) const
  {
    return m_prefix.empty() ? std::string(key) : fmt::format("{}.{}", m_prefix, key);
  }

  // Reports a bad value of a present `key`: "airlock.toml:3: server.threads: <what>".
  void
  invalid(std::string_view key, std::string_view what)
  {
    const auto line = m_table.get(key)->source().begin.line;
    m_problems.add(line, fmt::format("{}: {}: {}", m_problems.where(line), name(key), what));
  }

  // Marks `key` as consumed and returns its node; nullptr when absent.
  const toml::node*
  take(std::string_view key)
  {
    m_taken.emplace(key);
    return m_table.get(key);
  }

  std::optional<std::string>
  string(std::string_view key)
  {
    const auto* node = typed(key, toml::node_type::string, "a string");
    if (node == nullptr) {
      return std::nullopt;
    }
    return node->as_string()->get();
  }

  std::optional<std::int64_t>
  integer(std::string_view key)
  {
    const auto* node = typed(key, toml::node_type::integer, "an integer");
    if (node == nullptr) {
      return std::nullopt;
    }
    return node->as_integer()->get();
  }

  std::optional<bool>
  boolean(std::string_view key)
  {
    const auto* node = typed(key, toml::node_type::boolean, "a boolean");
    if (node == nullptr) {
      return std::nullopt;
    }
    return node->as_boolean()->get();
  }

  // A duration string of at least `minimum`.
  std::optional<Seconds>
  duration(std::string_view key, Seconds minimum = Seconds{0})
  {
    const auto* node = typed(key, toml::node_type::string, "a duration string (as in \"30s\")");
    if (node == nullptr) {
      return std::nullopt;
    }
    const auto& text = node->as_string()->get();
    auto parsed = parse_duration(text);
    if (!parsed) {
      invalid(key, parsed.error());
      return std::nullopt;
    }
    if (*parsed < minimum) {
      invalid(key, fmt::format("invalid duration \"{}\": must be at least {}s", text, minimum.count()));
      return std::nullopt;
    }
    return *parsed;
  }

  // A size string of at least `minimum` bytes, which `minimum_text` names for humans.
  std::optional<std::uint64_t>
  size(std::string_view key, std::uint64_t minimum, std::string_view minimum_text)
  {
    const auto* node = typed(key, toml::node_type::string, "a size string (as in \"32GiB\")");
    if (node == nullptr) {
      return std::nullopt;
    }
    const auto& text = node->as_string()->get();
    auto parsed = parse_size(text);
    if (!parsed) {
      invalid(key, parsed.error());
      return std::nullopt;
    }
    if (*parsed < minimum) {
      invalid(key, fmt::format("invalid size \"{}\": must be at least {}", text, minimum_text));
      return std::nullopt;
    }
    return *parsed;
  }

  // An array of strings; a non-string element is reported and the whole key ignored.
  std::optional<std::vector<std::string>>
  strings(std::string_view key)
  {
    const auto* node = typed(key, toml::node_type::array, "an array of strings");
    if (node == nullptr) {
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (const auto& element : *node->as_array()) {
      if (!element.is_string()) {
        invalid(key, "expected an array of strings");
        return std::nullopt;
      }
      out.push_back(element.as_string()->get());
    }
    return out;
  }

  const toml::table*
  table(std::string_view key)
  {
    const auto* node = typed(key, toml::node_type::table, "a table");
    return node == nullptr ? nullptr : node->as_table();
  }

  const toml::array*
  array_of_tables(std::string_view key)
  {
    const auto* node = typed(key, toml::node_type::array, "an array of tables");
    return node == nullptr ? nullptr : node->as_array();
  }

  // Reports every key nobody took.
  void
  finish()
  {
    for (const auto& [key, node] : m_table) {
      if (m_taken.count(key.str()) == 0) {
        const auto line = key.source().begin.line;
        m_problems.add(line, fmt::format("{}: unknown key \"{}\"", m_problems.where(line), name(key.str())));
      }
    }
  }

private:
  // Takes `key` and returns it when it has the wanted type; reports a wrong type.
  const toml::node*
  typed(std::string_view key, toml::node_type type, std::string_view expected)
  {
    const auto* node = take(key);
    if (node == nullptr) {
      return nullptr;
    }
    if (node->type() != type) {
      invalid(key, fmt::format("expected {}, got {}", expected, type_name(node->type())));
      return nullptr;
    }
    return node;
  }

  Problems& m_problems;
  const toml::table& m_table;
  std::string m_prefix;
  std::set<std::string, std::less<>> m_taken;
};

} // namespace airlock::proxy::config_reader
