// Forges TUF metadata for the end-to-end test (tuf_e2e.py), as an attacker holding (or
// lacking) a key could:
//
//   tuf_fixture resign KEY IN OUT [--expires RFC3339] [--version N]
//
// re-signs the metadata file IN with the ed25519 seed in KEY (a key file as `airlock keys
// init` writes it, or "random" for a key nobody trusts), optionally changing its expiry or
// version first, and writes OUT with that one signature. It touches no repository.
#include "metadata.hpp"

#include <airlock/util/sha256.hpp>

#include <boost/json.hpp>

#include <fmt/format.h>
#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace fs = std::filesystem;
namespace tuf = airlock::tuf;

namespace {

std::string
read_file(const fs::path& path)
{
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void
write_file(const fs::path& path, const std::string& bytes)
{
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

template<typename T>
T
check(airlock::Expected<T>&& result, std::string_view step)
{
  if (!result) {
    throw std::runtime_error(fmt::format("{}: {}", step, result.error()));
  }
  if constexpr (!std::is_void_v<T>) {
    return std::move(*result);
  }
}

std::string
hex(const unsigned char* data, std::size_t size)
{
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    out += fmt::format("{:02x}", data[i]);
  }
  return out;
}

int
resign(int argc, char** argv)
{
  namespace json = boost::json;
  if (argc < 5) {
    throw std::runtime_error("usage: tuf_fixture resign KEY|random IN OUT [--expires T] [--version N]");
  }
  const std::string key_file = argv[2];
  std::array<unsigned char, crypto_sign_SEEDBYTES> seed{};
  if (key_file == "random") {
    randombytes_buf(seed.data(), seed.size());
  } else {
    auto text = read_file(key_file);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
      text.pop_back();
    }
    if (text.size() != 2 * seed.size()) {
      throw std::runtime_error(key_file + ": not a 64-digit hex seed");
    }
    for (std::size_t i = 0; i < seed.size(); ++i) {
      seed[i] = static_cast<unsigned char>(std::stoi(text.substr(2 * i, 2), nullptr, 16));
    }
  }
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> public_key{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> secret_key{};
  crypto_sign_seed_keypair(public_key.data(), secret_key.data(), seed.data());
  const json::object key_object{{"keytype", "ed25519"},
                                {"scheme", "ed25519"},
                                {"keyval", json::object{{"public", hex(public_key.data(), public_key.size())}}}};
  const auto keyid = airlock::Sha256::of(check(tuf::canonical_json(key_object), "canonical key")).hex();

  auto document = check(tuf::parse_json(read_file(argv[3])), "parse");
  auto& signed_part = document.as_object().at("signed").as_object();
  for (int i = 5; i + 1 < argc; i += 2) {
    const std::string_view option = argv[i];
    if (option == "--expires") {
      signed_part["expires"] = argv[i + 1];
    } else if (option == "--version") {
      signed_part["version"] = std::stoull(argv[i + 1]);
    } else {
      throw std::runtime_error(fmt::format("unknown option {}", option));
    }
  }
  const auto message = check(tuf::canonical_json(signed_part), "canonical signed");
  std::array<unsigned char, crypto_sign_BYTES> signature{};
  crypto_sign_detached(signature.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), secret_key.data());
  document.as_object()["signatures"] =
    json::array{json::object{{"keyid", keyid}, {"sig", hex(signature.data(), signature.size())}}};
  write_file(argv[4], check(tuf::canonical_json(document), "canonical document"));
  return 0;
}

int
run(int argc, char** argv)
{
  if (argc >= 2 && std::string_view(argv[1]) == "resign") {
    return resign(argc, argv);
  }
  std::cerr << "usage: tuf_fixture resign KEY|random IN OUT [--expires T] [--version N]\n";
  return 2;
}

} // namespace

int
main(int argc, char** argv)
{
  try {
    if (sodium_init() < 0) {
      throw std::runtime_error("libsodium failed to initialize");
    }
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "tuf_fixture: " << e.what() << "\n";
    return 1;
  }
}
