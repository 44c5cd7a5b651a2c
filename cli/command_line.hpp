#pragma once

// Private to cli/: what every verb shares: the parsed command line, the admin API call and
// the printing of its answers.

#include <airlock/proxy/config.hpp>
#include <airlock/util/error.hpp>

#include <boost/json/fwd.hpp>

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace airlock::cli {

namespace json = boost::json;
using proxy::Config;

// A command-line problem: reported as one line, exit code 2.
class UsageError : public Error
{
public:
  using Error::Error;
};

struct Arguments
{
  std::vector<std::string> positional;
  std::map<std::string, std::string, std::less<>> options;
  bool json = false;
  bool repair = false;
  bool prefetch = false;
  bool files = false;
  bool accept_large = false;
  bool local = false;

  const std::string* option(std::string_view name) const
  {
    auto it = options.find(name);
    return it == options.end() ? nullptr : &it->second;
  }
};

// Parses argv[first..]: positional arguments, --flags and --option VALUE (or --option=VALUE).
// Throws UsageError for an unknown option or a missing value.
Arguments parse_arguments(int argc, char** argv, int first);
// Throws UsageError("usage: airlock <usage>") unless min <= positional arguments <= max.
void expect_positional(const Arguments& args, std::size_t min, std::size_t max, std::string_view usage);
// The configuration of --config, else the embedded defaults.
Config load(const Arguments& args);
// Where the admin API is: --server, AIRLOCK_SERVER, or the --config's listen address.
std::string server_url(const Arguments& args);
// The API token: --token or AIRLOCK_TOKEN.
std::string token_of(const Arguments& args);
// Calls the API; a non-2xx answer becomes an Error with the server's message.
json::value call(const Arguments& args, std::string_view method, const std::string& target,
                 const std::string& body = {});
// Percent-encodes a query parameter value.
std::string url_encode(std::string_view text);
// A JSON value as a table cell: strings bare, null as "-".
std::string text_of(const json::value& value);
// "in 6d 22h" or "3h 5m ago" for an RFC 3339 time; "-" for null.
std::string relative(const json::value& value);
// Prints rows under a header, columns aligned.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
// A file's provenance object in a few words.
std::string provenance_text(const json::value& provenance);
// Prints a JSON value (--json).
void print(const json::value& value);

// The verbs, one group per file: each returns the exit code.
int serve(const Arguments& args);                                // local.cpp
int token_create(const Arguments& args);                         // local.cpp
int fsck(const Arguments& args);                                 // local.cpp
int status(const Arguments& args);                               // review.cpp
int queue(const Arguments& args);                                // review.cpp
int decide(const Arguments& args, std::string_view action);      // review.cpp
int audit(const Arguments& args);                                // review.cpp
int snapshot(const Arguments& args);                             // snapshots.cpp
int advisories(const Arguments& args);                           // advisories.cpp
int keys(const Arguments& args);                                 // keys.cpp
int verify(const Arguments& args);                               // keys.cpp

} // namespace airlock::cli
