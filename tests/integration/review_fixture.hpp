#pragma once

// ProxyTest with API tokens of every role and a project with an old and a fresh release.

#include "proxy_fixture.hpp"

#include "auth.hpp"

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
