// PEP 440 versions and specifier sets: parsing, normalization, ordering, and which versions a
// specifier set admits.

#include <airlock/policy/version.hpp>

#include "ascii.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <iterator>

namespace airlock::policy {

namespace {

using ascii::is_alnum;
using ascii::is_digit;
using ascii::is_separator;
using ascii::to_lower;

// Python's str.strip() in packaging also strips Unicode spaces; a version is ASCII, so the
// ASCII ones are all we take off.
bool
is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view
trim(std::string_view text)
{
  while (!text.empty() && is_space(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_space(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

bool
iequals(std::string_view a, std::string_view b)
{
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return to_lower(x) == to_lower(y); });
}

bool
is_all_digits(std::string_view text)
{
  return !text.empty() && std::all_of(text.begin(), text.end(), is_digit);
}

// A left-to-right reader over one version string. Each optional part of PEP 440's grammar is
// tried greedily and given back whole when it does not match; the grammar is such that greedy
// choices never need to be undone later (nothing can follow a keyword that starts with a letter
// of its longer spelling, and no part after the release starts with a digit).
class Reader
{
public:
  explicit Reader(std::string_view text) : m_text(text) {}

  bool at_end() const { return m_pos == m_text.size(); }
  size_t pos() const { return m_pos; }
  void rewind(size_t pos) { m_pos = pos; }

  // '\0' past the end; no grammar rule accepts '\0', so an embedded one fails the parse too.
  char
  peek(size_t ahead = 0) const
  {
    return m_pos + ahead < m_text.size() ? m_text[m_pos + ahead] : '\0';
  }

  bool
  eat(char c)
  {
    if (peek() != c) {
      return false;
    }
    ++m_pos;
    return true;
  }

  bool
  eat_separator()
  {
    if (!is_separator(peek())) {
      return false;
    }
    ++m_pos;
    return true;
  }

  // Eats the first of `words` that is spelled here (any case) and returns its index.
  template<size_t N>
  std::optional<size_t>
  eat_keyword(const std::array<std::string_view, N>& words)
  {
    for (size_t i = 0; i < N; ++i) {
      const auto word = words[i];
      if (iequals(m_text.substr(m_pos, word.size()), word)) {
        m_pos += word.size();
        return i;
      }
    }
    return std::nullopt;
  }

  // Eats a run of digits (possibly empty).
  std::string_view
  eat_digits()
  {
    const size_t start = m_pos;
    while (is_digit(peek())) {
      ++m_pos;
    }
    return m_text.substr(start, m_pos - start);
  }

  // Eats a run of ASCII letters and digits (possibly empty).
  std::string_view
  eat_alnums()
  {
    const size_t start = m_pos;
    while (is_alnum(peek())) {
      ++m_pos;
    }
    return m_text.substr(start, m_pos - start);
  }

private:
  std::string_view m_text;
  size_t m_pos = 0;
};

// Parses a non-empty run of digits; nullopt when it does not fit in 64 bits. Python's ints are
// unbounded, but no real version needs more, and a wrapped number would compare wrongly.
std::optional<std::uint64_t>
to_number(std::string_view digits)
{
  std::uint64_t value = 0;
  const auto* end = digits.data() + digits.size();
  const auto [ptr, ec] = std::from_chars(digits.data(), end, value);
  if (digits.empty() || ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return value;
}

// Eats an optional number after a pre, post or dev keyword: absent means 0, as PEP 440 says.
// nullopt only on overflow.
std::optional<std::uint64_t>
eat_implicit_number(Reader& reader)
{
  const auto digits = reader.eat_digits();
  return digits.empty() ? std::optional<std::uint64_t>(0) : to_number(digits);
}

// Local segments compare numerically when both are numbers (any length: they are kept as
// digits without leading zeros), a number sorts after a string, strings compare as strings.
std::weak_ordering
compare_local_segment(const std::string& a, const std::string& b)
{
  const bool a_number = is_all_digits(a);
  const bool b_number = is_all_digits(b);
  if (a_number != b_number) {
    return a_number <=> b_number;
  }
  if (a_number && a.size() != b.size()) {
    return a.size() <=> b.size();
  }
  return a.compare(b) <=> 0;
}

// Release segments compare as if the shorter were padded with zeros: 1.0 == 1.0.0.
std::weak_ordering
compare_release(const std::vector<std::uint64_t>& a, const std::vector<std::uint64_t>& b)
{
  const size_t size = std::max(a.size(), b.size());
  for (size_t i = 0; i < size; ++i) {
    const std::uint64_t x = i < a.size() ? a[i] : 0;
    const std::uint64_t y = i < b.size() ? b[i] : 0;
    if (x != y) {
      return x <=> y;
    }
  }
  return std::weak_ordering::equivalent;
}

// True when the first `length` segments of `release`, padded with zeros, equal those of
// `prefix`: 1 starts with 1.0, 1.0.5 starts with 1.0, 1.1 does not.
bool
has_release_prefix(const std::vector<std::uint64_t>& release,
                   const std::vector<std::uint64_t>& prefix,
                   size_t length)
{
  for (size_t i = 0; i < length; ++i) {
    const std::uint64_t segment = i < release.size() ? release[i] : 0;
    if (segment != prefix[i]) {
      return false;
    }
  }
  return true;
}

constexpr std::array<std::string_view, 8> k_pre_words = {"alpha", "a", "beta", "b", "preview", "pre", "c", "rc"};
constexpr std::array<int, 8> k_pre_kinds = {0, 0, 1, 1, 2, 2, 2, 2};
constexpr std::array<std::string_view, 3> k_pre_spellings = {"a", "b", "rc"};
constexpr std::array<std::string_view, 3> k_post_words = {"post", "rev", "r"};
constexpr std::array<std::string_view, 1> k_dev_words = {"dev"};

} // namespace

std::optional<Version>
Version::parse(std::string_view text)
{
  Reader reader(trim(text));
  Version version;

  if (!reader.eat('v')) {
    reader.eat('V');
  }

  // Epoch and the first release segment both start with digits; the '!' tells them apart.
  auto first = to_number(reader.eat_digits());
  if (!first) {
    return std::nullopt;
  }
  if (reader.eat('!')) {
    version.m_epoch = *first;
    first = to_number(reader.eat_digits());
    if (!first) {
      return std::nullopt;
    }
  }
  version.m_release.push_back(*first);
  while (reader.peek() == '.' && is_digit(reader.peek(1))) {
    reader.eat('.');
    const auto segment = to_number(reader.eat_digits());
    if (!segment) {
      return std::nullopt;
    }
    version.m_release.push_back(*segment);
  }

  size_t start = reader.pos();
  reader.eat_separator();
  if (const auto word = reader.eat_keyword(k_pre_words)) {
    reader.eat_separator();
    const auto number = eat_implicit_number(reader);
    if (!number) {
      return std::nullopt;
    }
    version.m_pre = std::pair{k_pre_kinds[*word], *number};
  } else {
    reader.rewind(start);
  }

  start = reader.pos();
  if (reader.peek() == '-' && is_digit(reader.peek(1))) {
    // "1.0-1" is the implicit spelling of 1.0.post1.
    reader.eat('-');
    version.m_post = to_number(reader.eat_digits());
    if (!version.m_post) {
      return std::nullopt;
    }
  } else {
    reader.eat_separator();
    if (reader.eat_keyword(k_post_words)) {
      reader.eat_separator();
      version.m_post = eat_implicit_number(reader);
      if (!version.m_post) {
        return std::nullopt;
      }
    } else {
      reader.rewind(start);
    }
  }

  start = reader.pos();
  reader.eat_separator();
  if (reader.eat_keyword(k_dev_words)) {
    reader.eat_separator();
    version.m_dev = eat_implicit_number(reader);
    if (!version.m_dev) {
      return std::nullopt;
    }
  } else {
    reader.rewind(start);
  }

  if (reader.eat('+')) {
    do {
      const auto segment = reader.eat_alnums();
      if (segment.empty()) {
        return std::nullopt;
      }
      std::string lowered;
      if (is_all_digits(segment)) {
        // Numeric segments are integers ("+01" is "+1"), kept as text so any length compares.
        const auto significant = segment.find_first_not_of('0');
        lowered = significant == std::string_view::npos ? "0" : std::string(segment.substr(significant));
      } else {
        std::transform(segment.begin(), segment.end(), std::back_inserter(lowered), to_lower);
      }
      version.m_local.push_back(std::move(lowered));
    } while (reader.eat_separator());
  }

  if (!reader.at_end()) {
    return std::nullopt;
  }

  std::string& out = version.m_normalized;
  if (version.m_epoch != 0) {
    out += std::to_string(version.m_epoch) + '!';
  }
  for (size_t i = 0; i < version.m_release.size(); ++i) {
    if (i != 0) {
      out += '.';
    }
    out += std::to_string(version.m_release[i]);
  }
  if (version.m_pre) {
    out += k_pre_spellings[static_cast<size_t>(version.m_pre->first)];
    out += std::to_string(version.m_pre->second);
  }
  if (version.m_post) {
    out += ".post" + std::to_string(*version.m_post);
  }
  if (version.m_dev) {
    out += ".dev" + std::to_string(*version.m_dev);
  }
  for (size_t i = 0; i < version.m_local.size(); ++i) {
    out += i == 0 ? '+' : '.';
    out += version.m_local[i];
  }
  return version;
}

bool
Version::is_prerelease() const
{
  return m_pre.has_value() || m_dev.has_value();
}

Version
Version::public_version() const
{
  Version result = *this;
  result.m_local.clear();
  result.m_normalized.erase(std::min(result.m_normalized.find('+'), result.m_normalized.size()));
  return result;
}

std::weak_ordering
Version::compare_public(const Version& other) const
{
  if (const auto order = m_epoch <=> other.m_epoch; order != 0) {
    return order;
  }
  if (const auto order = compare_release(m_release, other.m_release); order != 0) {
    return order;
  }
  // Ranks: a dev release of a final version (1.0.dev1) sorts before all of 1.0's pre-releases,
  // then a < b < rc, then versions with no pre-release.
  const auto pre_key = [](const Version& v) -> std::pair<int, std::uint64_t> {
    if (v.m_pre) {
      return *v.m_pre;
    }
    if (!v.m_post && v.m_dev) {
      return {-1, 0};
    }
    return {3, 0};
  };
  if (const auto order = pre_key(*this) <=> pre_key(other); order != 0) {
    return order;
  }
  // No post-release sorts before any post-release.
  const auto post_key = [](const Version& v) { return std::pair{v.m_post.has_value(), v.m_post.value_or(0)}; };
  if (const auto order = post_key(*this) <=> post_key(other); order != 0) {
    return order;
  }
  // A dev release sorts before the same version without one.
  const auto dev_key = [](const Version& v) { return std::pair{!v.m_dev.has_value(), v.m_dev.value_or(0)}; };
  return dev_key(*this) <=> dev_key(other);
}

std::weak_ordering
Version::operator<=>(const Version& other) const
{
  if (const auto order = compare_public(other); order != 0) {
    return order;
  }
  // No local version sorts before any; a shorter local sorts first when it is a prefix.
  return std::lexicographical_compare_three_way(
    m_local.begin(), m_local.end(), other.m_local.begin(), other.m_local.end(), compare_local_segment);
}

Expected<SpecifierSet>
SpecifierSet::parse(std::string_view text)
{
  const auto whole = trim(text);
  if (whole.empty()) {
    return make_unexpected("empty version specifier");
  }

  SpecifierSet set;
  set.m_text = std::string(whole);
  size_t clause_start = 0;
  while (clause_start <= whole.size()) {
    const size_t comma = std::min(whole.find(',', clause_start), whole.size());
    const auto clause_text = trim(whole.substr(clause_start, comma - clause_start));
    clause_start = comma + 1;

    if (clause_text.empty()) {
      return make_unexpected(fmt::format("invalid version specifier \"{}\": empty clause", whole));
    }
    const auto fail = [&](std::string_view why) {
      return make_unexpected(fmt::format("invalid version specifier \"{}\": {}", clause_text, why));
    };

    Clause clause;
    // Longest operators first: "===" before "==", "<=" before "<".
    for (const std::string_view op : {"===", "~=", "==", "!=", "<=", ">=", "<", ">"}) {
      if (clause_text.starts_with(op)) {
        clause.op = std::string(op);
        break;
      }
    }
    if (clause.op.empty()) {
      return fail("expected an operator (==, !=, <=, >=, <, >, ~= or ===) before the version");
    }
    const auto version_text = trim(clause_text.substr(clause.op.size()));
    clause.raw = std::string(version_text);
    if (version_text.empty()) {
      return fail(fmt::format("missing version after {}", clause.op));
    }

    if (clause.op == "===") {
      // Arbitrary equality is plain text, so nothing to parse; packaging stops the text at
      // whitespace, ';' and ')', which would otherwise end up inside the compared string.
      if (version_text.find_first_of(" \t\n\r\f\v;)") != std::string_view::npos) {
        return fail("=== takes a version without whitespace, ';' or ')'");
      }
      set.m_clauses.push_back(std::move(clause));
      continue;
    }

    // Version::parse trims, so "== 1.0 .*" would otherwise slip through.
    if (version_text.find_first_of(" \t\n\r\f\v") != std::string_view::npos) {
      return fail(fmt::format("\"{}\" is not a PEP 440 version", version_text));
    }
    auto base = version_text;
    if (base.ends_with(".*")) {
      if (clause.op != "==" && clause.op != "!=") {
        return fail(".* is only allowed with == and !=");
      }
      clause.wildcard = true;
      base.remove_suffix(2);
    }
    clause.version = Version::parse(base);
    if (!clause.version) {
      return fail(fmt::format("\"{}\" is not a PEP 440 version", version_text));
    }
    const Version& version = *clause.version;
    if (clause.wildcard) {
      // As packaging (and so pip) does: PEP 440 bans .* after dev and local versions, and a
      // prefix that stops inside a pre or post segment has no agreed meaning.
      if (version.has_local()) {
        return fail(".* cannot follow a local version");
      }
      if (version.m_pre || version.m_post || version.m_dev) {
        return fail(".* can only follow a release (such as ==1.0.*), not a pre, post or dev release");
      }
    }
    if (version.has_local() && clause.op != "==" && clause.op != "!=") {
      return fail("a local version (+...) is only allowed with == and !=");
    }
    if (clause.op == "~=" && version.m_release.size() < 2) {
      return fail("~= needs at least two release segments");
    }
    set.m_clauses.push_back(std::move(clause));
  }
  return set;
}

bool
SpecifierSet::contains(const Version& version) const
{
  return std::all_of(
    m_clauses.begin(), m_clauses.end(), [&](const Clause& clause) { return admits(clause, version); });
}

bool
SpecifierSet::admits(const Clause& clause, const Version& candidate)
{
  const auto& op = clause.op;
  if (op == "===") {
    return iequals(clause.raw, candidate.normalized());
  }

  const Version& spec = *clause.version;
  const auto has_prefix = [&](size_t length) {
    return candidate.m_epoch == spec.m_epoch && has_release_prefix(candidate.m_release, spec.m_release, length);
  };
  if (clause.wildcard) {
    // Prefix matching ignores everything after the release: ==1.0.* admits 1.0rc1, 1.0.post1
    // and 1.0+local, and 1 (padded to 1.0).
    const bool matches = has_prefix(spec.m_release.size());
    return op == "==" ? matches : !matches;
  }

  // Local labels of the candidate are ignored unless the specifier names one (==1.0 admits
  // 1.0+ubuntu1, ==1.0+ubuntu1 admits only that).
  const auto public_order = candidate.compare_public(spec);
  if (op == "==" || op == "!=") {
    const bool equal = spec.has_local() ? candidate == spec : public_order == 0;
    return op == "==" ? equal : !equal;
  }
  if (op == "<=") {
    return public_order <= 0;
  }
  if (op == ">=") {
    return public_order >= 0;
  }
  if (op == "~=") {
    // ~=2.2 is >=2.2,==2.*; ~=1.4.5 is >=1.4.5,==1.4.*.
    return public_order >= 0 && has_prefix(spec.m_release.size() - 1);
  }
  if (op == "<") {
    // <V must not admit V's own pre-releases (<1.83 excludes 1.83rc1 and 1.83.dev0) unless V is
    // one: the bound moves down to V.dev0, the earliest of them.
    if (spec.is_prerelease()) {
      return candidate < spec;
    }
    Version bound = spec;
    bound.m_dev = 0;
    return candidate < bound;
  }
  if (op == ">") {
    if (candidate <= spec || public_order == 0) {
      // Not above V, or a local version of V (which sorts above it).
      return false;
    }
    // >V must not admit V's post-releases unless V is one (>1.0 excludes 1.0.post1, and
    // 1.0.post1+local). Candidates above V with V's release and pre segment are exactly those.
    const bool is_post_of_spec = !spec.m_post && !spec.m_dev && candidate.m_epoch == spec.m_epoch
                                 && compare_release(candidate.m_release, spec.m_release) == 0
                                 && candidate.m_pre == spec.m_pre;
    return !is_post_of_spec;
  }
  return false;
}

std::string
Version::canonical() const
{
  // The normalized form is [N!]release[pre][.postN][.devN][+local], release being digits and
  // dots: strip ".0" from the end of the release, keeping its first segment.
  std::string out = m_normalized;
  const auto bang = out.find('!');
  const std::size_t start = bang == std::string::npos ? 0 : bang + 1;
  std::size_t end = start;
  while (end < out.size() && (is_digit(out[end]) || out[end] == '.')) {
    ++end;
  }
  if (end > start && out[end - 1] == '.') {
    --end; // the separator of a ".postN" or ".devN"
  }
  std::size_t cut = end;
  while (cut - start > 2 && out.compare(cut - 2, 2, ".0") == 0) {
    cut -= 2;
  }
  out.erase(cut, end - cut);
  return out;
}

} // namespace airlock::policy
