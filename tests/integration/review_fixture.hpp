#pragma once

// ProxyTest with API tokens of every role and a project with an old and a fresh release.

#include "proxy_fixture.hpp"

#include "admin/auth.hpp"

#include <airlock/tuf/client.hpp>

#include <sodium.h>

namespace airlock::test {

class ReviewTest : public ProxyTest
{
protected:
  void SetUp() override
  {
    ASSERT_GE(sodium_init(), 0);
    upstream.add_file("litellm", old_file("litellm-1.82.6-py3-none-any.whl", 1));
    fresh = old_file("litellm-1.82.7-py3-none-any.whl", 2);
    fresh.upload_time = k_now - 1h;
    upstream.add_file("litellm", fresh);
  }

  void start_with_tokens()
  {
    start();
    reader = token("rita", storage::Role::reader);
    reviewer = token("bob", storage::Role::reviewer);
    admin = token("ops", storage::Role::admin);
    // Airlock knows the files once it has listed them.
    if (!listed_project.empty()) {
      ASSERT_EQ(http_get(port, "/simple/" + listed_project + "/", {{"Authorization", "Bearer " + reader}}).status,
                200u);
      ASSERT_TRUE(server->wait_for_checks());
    }
  }

  // Reads /tuf/ from the server under test, as `airlock verify` does.
  tuf::Fetch tuf_fetch()
  {
    return [this](std::string_view path, std::uint64_t) -> Expected<std::optional<std::string>> {
      auto response = http_get(port, "/tuf/" + std::string(path));
      if (response.status == 404) {
        return std::optional<std::string>();
      }
      if (response.status != 200) {
        return make_unexpected("status " + std::to_string(response.status));
      }
      return std::optional<std::string>(response.body);
    };
  }

  // Waits (5 s at most: the server gathers changes for a second before signing) until the TUF
  // chain from 1.root.json verifies and signs `body` as `target`. Returns the last problem, or
  // an empty string once it does.
  std::string wait_until_signed(const std::string& target, const std::string& body)
  {
    const auto root = http_get(port, "/tuf/metadata/1.root.json").body;
    const auto fetch = tuf_fetch();
    std::string problem = "never verified";
    for (int i = 0; i < 50 && !problem.empty(); ++i) {
      const auto verified = tuf::verify_repository(root, fetch, clock.now());
      const auto* signed_target = verified ? verified->find(target) : nullptr;
      const auto matches = signed_target != nullptr ? tuf::verify_target(*signed_target, body) : Expected<void>{};
      problem = !verified ? verified.error() : signed_target == nullptr ? "no target" : !matches ? matches.error() : "";
      if (!problem.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds{100});
      }
    }
    return problem;
  }

  std::string token(const std::string& name, storage::Role role)
  {
    auto made = proxy::make_token(name, role, clock.now());
    storage::AuditEntry entry;
    entry.time = clock.now();
    entry.actor = "test";
    entry.action = "token-create";
    server->store().put_token(made.record, entry);
    return made.token;
  }

  HttpResponse api(const std::string& method, const std::string& target, const std::string& token,
                   const std::string& body = {})
  {
    Headers headers;
    if (!token.empty()) {
      headers.emplace_back("Authorization", "Bearer " + token);
    }
    return http_request(port, method, "/-/api/v1" + target, headers, body);
  }

  HttpResponse decide(const std::string& action, const std::string& token, const std::string& version,
                      const std::string& reason = "checked the diff")
  {
    boost::json::object body{{"project", "LiteLLM"}, {"reason", reason}};
    if (!version.empty()) {
      body["version"] = version;
    }
    return api("POST", "/" + action, token, boost::json::serialize(body));
  }

  std::vector<std::string> served() { return filenames(json_page("litellm")); }

  std::string listed_project = "litellm";
  FakeFile fresh;
  std::string reader;
  std::string reviewer;
  std::string admin;
};

} // namespace airlock::test
