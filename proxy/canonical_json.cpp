#include "canonical_json.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <vector>

namespace airlock::proxy::tuf {

namespace json = boost::json;

namespace {

void
append_string(std::string& out, std::string_view s)
{
  out.push_back('"');
  for (const char c : s) {
    // OLPC escapes only these two; control characters and non-ASCII go out as raw bytes.
    if (c == '"' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  out.push_back('"');
}

bool
append_value(std::string& out, const json::value& value)
{
  switch (value.kind()) {
  case json::kind::null:
    out += "null";
    return true;
  case json::kind::bool_:
    out += value.get_bool() ? "true" : "false";
    return true;
  case json::kind::int64:
    out += std::to_string(value.get_int64());
    return true;
  case json::kind::uint64:
    out += std::to_string(value.get_uint64());
    return true;
  case json::kind::double_:
    return false;
  case json::kind::string:
    append_string(out, std::string_view(value.get_string().data(), value.get_string().size()));
    return true;
  case json::kind::array: {
    out.push_back('[');
    bool first = true;
    for (const auto& element : value.get_array()) {
      if (!first) {
        out.push_back(',');
      }
      first = false;
      if (!append_value(out, element)) {
        return false;
      }
    }
    out.push_back(']');
    return true;
  }
  case json::kind::object: {
    const auto& object = value.get_object();
    std::vector<const json::key_value_pair*> members;
    members.reserve(object.size());
    for (const auto& member : object) {
      members.push_back(&member);
    }
    // std::string_view compares as unsigned bytes: UTF-8 byte order is code point order, as
    // securesystemslib sorts. (JavaScript sorts UTF-16 units; the two differ only between
    // characters above U+FFFF and U+E000..U+FFFF, which target path checks keep out.)
    std::sort(members.begin(), members.end(),
              [](const auto* a, const auto* b) { return a->key() < b->key(); });
    out.push_back('{');
    bool first = true;
    for (const auto* member : members) {
      if (!first) {
        out.push_back(',');
      }
      first = false;
      append_string(out, member->key());
      out.push_back(':');
      if (!append_value(out, member->value())) {
        return false;
      }
    }
    out.push_back('}');
    return true;
  }
  }
  return false;
}

} // namespace

Expected<std::string>
canonical_json(const json::value& value)
{
  std::string out;
  if (!append_value(out, value)) {
    return make_unexpected("not canonical JSON: a number is not an integer");
  }
  return out;
}

Expected<json::value>
parse_json(std::string_view text)
{
  json::parse_options options;
  options.max_depth = k_max_json_depth;
  std::error_code error;
  auto value = json::parse(text, error, {}, options);
  if (error) {
    return make_unexpected("not JSON: " + error.message());
  }
  return value;
}

} // namespace airlock::proxy::tuf
