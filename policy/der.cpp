// The DER reader and writer: elements, UTF8Strings, and the precertificate TBSCertificate an
// SCT signs, rebuilt byte for byte without the SCT list extension.

#include "der.hpp"

#include <fmt/core.h>

#include <optional>

namespace airlock::policy::der {

namespace {

constexpr std::size_t k_max_length_octets = 4;

// Reads one element of a given tag that must fill all of `input`.
Expected<Element>
read_only(std::string_view input, std::uint8_t tag, std::string_view what)
{
  auto element = read(input);
  if (!element) {
    return make_unexpected(fmt::format("{}: {}", what, element.error()));
  }
  if (element->tag != tag) {
    return make_unexpected(fmt::format("{}: tag 0x{:02x}, expected 0x{:02x}", what, element->tag, tag));
  }
  if (!input.empty()) {
    return make_unexpected(fmt::format("{}: {} trailing bytes", what, input.size()));
  }
  return element;
}

} // namespace

Expected<Element>
read(std::string_view& input)
{
  if (input.size() < 2) {
    return make_unexpected("truncated element");
  }
  const auto tag = static_cast<std::uint8_t>(input[0]);
  if ((tag & 0x1f) == 0x1f) {
    return make_unexpected("multi-byte tags are not supported");
  }
  const auto first = static_cast<std::uint8_t>(input[1]);
  std::size_t header = 2;
  std::size_t length = first;
  if (first == 0x80) {
    return make_unexpected("indefinite length is not DER");
  }
  if (first > 0x80) {
    const std::size_t octets = first & 0x7f;
    if (octets > k_max_length_octets) {
      return make_unexpected("length too large");
    }
    if (input.size() < 2 + octets) {
      return make_unexpected("truncated length");
    }
    length = 0;
    for (std::size_t i = 0; i < octets; ++i) {
      length = (length << 8) | static_cast<std::uint8_t>(input[2 + i]);
    }
    // DER: the shortest form, so no leading zero octet and no long form below 128.
    if (static_cast<std::uint8_t>(input[2]) == 0 || length < 0x80) {
      return make_unexpected("length is not minimally encoded");
    }
    header += octets;
  }
  if (input.size() - header < length) {
    return make_unexpected("truncated content");
  }
  Element element{tag, input.substr(header, length), input.substr(0, header + length)};
  input.remove_prefix(header + length);
  return element;
}

std::string
encode(std::uint8_t tag, std::string_view content)
{
  std::string out(1, static_cast<char>(tag));
  const std::size_t length = content.size();
  if (length < 0x80) {
    out.push_back(static_cast<char>(length));
  } else {
    std::string octets;
    for (std::size_t rest = length; rest != 0; rest >>= 8) {
      octets.insert(octets.begin(), static_cast<char>(rest & 0xff));
    }
    out.push_back(static_cast<char>(0x80 | octets.size()));
    out += octets;
  }
  out += content;
  return out;
}

Expected<std::string>
decode_utf8_string(std::string_view der)
{
  auto element = read_only(der, k_utf8_string, "UTF8String");
  if (!element) {
    return make_unexpected(element.error());
  }
  return std::string(element->content);
}

Expected<std::string>
tbs_without_extension(std::string_view certificate, std::string_view oid)
{
  auto cert = read_only(certificate, k_sequence, "certificate");
  if (!cert) {
    return make_unexpected(cert.error());
  }
  std::string_view cert_content = cert->content;
  auto tbs = read(cert_content);
  if (!tbs || tbs->tag != k_sequence) {
    return make_unexpected("certificate: no TBSCertificate");
  }

  // Walk the TBS fields; only the [3] extensions field changes, every other byte is kept.
  std::string before;
  std::string after;
  std::optional<Element> extensions;
  std::string_view fields = tbs->content;
  while (!fields.empty()) {
    auto field = read(fields);
    if (!field) {
      return make_unexpected("TBSCertificate: " + field.error());
    }
    if (field->tag == k_extensions) {
      if (extensions) {
        return make_unexpected("TBSCertificate: two extensions fields");
      }
      extensions = *field;
    } else if (extensions) {
      after += field->encoding;
    } else {
      before += field->encoding;
    }
  }
  if (!extensions) {
    return make_unexpected("TBSCertificate: no extensions");
  }
  auto list = read_only(extensions->content, k_sequence, "extensions");
  if (!list) {
    return make_unexpected(list.error());
  }

  std::string kept;
  int removed = 0;
  std::string_view entries = list->content;
  while (!entries.empty()) {
    auto extension = read(entries);
    if (!extension || extension->tag != k_sequence) {
      return make_unexpected("extensions: malformed Extension");
    }
    std::string_view inner = extension->content;
    auto id = read(inner);
    if (!id || id->tag != k_oid) {
      return make_unexpected("extensions: Extension without an OID");
    }
    if (id->content == oid) {
      ++removed;
    } else {
      kept += extension->encoding;
    }
  }
  if (removed != 1) {
    return make_unexpected(fmt::format("extensions: the extension occurs {} times, expected once", removed));
  }
  // An empty extension list is left out altogether, as an encoder would.
  std::string content = before;
  if (!kept.empty()) {
    content += encode(k_extensions, encode(k_sequence, kept));
  }
  content += after;
  return encode(k_sequence, content);
}

} // namespace airlock::policy::der
