#pragma once

// A blocking HTTP/1.1 client for tests, talking to 127.0.0.1.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace airlock::test {

struct HttpResponse
{
  unsigned status = 0;
  std::string reason;
  std::string body;
  std::map<std::string, std::string> headers; // lowercase names
  bool complete = false; // false: the connection broke before the whole body arrived
  std::string error;

  std::string header(const std::string& name) const
  {
    auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

HttpResponse http_get(std::uint16_t port, const std::string& target, const Headers& headers = {},
                      const std::string& method = "GET");
// Any method, with an optional (JSON) body.
HttpResponse http_request(std::uint16_t port, const std::string& method, const std::string& target,
                          const Headers& headers, const std::string& body);
// Sends raw bytes and returns whatever comes back until the server closes (or 5 s pass).
std::string raw_exchange(std::uint16_t port, const std::string& bytes);

} // namespace airlock::test
