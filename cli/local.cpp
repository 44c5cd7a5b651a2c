// The verbs that work on the data directory without a server (token create, fsck), and
// serve, which runs the server.
#include "cli/command_line.hpp"

#include "admin/auth.hpp"

#include <airlock/proxy/server.hpp>
#include <airlock/storage/fsck.hpp>
#include <airlock/storage/store.hpp>

#include <boost/json.hpp>
#include <fmt/core.h>
#include <sodium.h>

#include <cstdio>
#include <string>
#include <vector>

namespace airlock::cli {

using proxy::HandleSignals;
using proxy::Server;

int
serve(const Arguments& args)
{
  if (!args.positional.empty()) {
    throw UsageError(fmt::format("serve takes no arguments, got \"{}\"", args.positional.front()));
  }
  const SystemClock clock;
  Server server(load(args), clock);
  server.bind();
  server.run(HandleSignals::yes);
  return 0;
}

// Works on the configured storage directly, so the first admin token needs no server. LMDB
// lets it run beside a live `airlock serve`.
int
token_create(const Arguments& args)
{
  expect_positional(args, 1, 1, "token create --role reader|reviewer|admin --name NAME [--config FILE]");
  const auto* role_text = args.option("--role");
  const auto* name = args.option("--name");
  if (role_text == nullptr || name == nullptr || name->empty()) {
    throw UsageError("token create needs --role reader|reviewer|admin and --name NAME");
  }
  const auto role = proxy::parse_role(*role_text);
  if (!role) {
    throw UsageError(fmt::format("--role must be reader, reviewer or admin, not \"{}\"", *role_text));
  }
  const auto config = load(args);
  storage::Store store(config.storage);
  const Time now = SystemClock().now();
  auto token = proxy::make_token(*name, *role, now);
  const char* user = std::getenv("USER");
  storage::AuditEntry entry;
  entry.time = now;
  entry.actor = fmt::format("local:{}", user != nullptr ? user : "unknown");
  entry.action = "token-create";
  entry.reason = fmt::format("token \"{}\" with role {} (created on the command line)", *name, *role_text);
  entry.before = "-";
  entry.after = *role_text;
  store.put_token(token.record, entry);
  if (args.json) {
    print(json::object{{"name", *name}, {"role", *role_text}, {"token", token.token}});
  } else {
    std::puts(token.token.c_str());
  }
  sodium_memzero(token.token.data(), token.token.size());
  return 0;
}

// Works on the configured storage directly, as token create does. Checking may run beside a
// live `airlock serve`; --repair may not, as it removes the temp files of downloads in flight.
int
fsck(const Arguments& args)
{
  expect_positional(args, 0, 0, "fsck [--repair] [--config FILE] [--json]");
  const auto config = load(args);
  const auto report = storage::fsck(config.storage, args.repair ? storage::Repair::yes : storage::Repair::no);
  if (args.json) {
    json::array problems;
    for (const auto& p : report.problems) {
      problems.push_back(json::object{{"kind", storage::to_string(p.issue)}, {"where", p.where},
                                      {"detail", p.detail}, {"harmless", storage::is_harmless(p.issue)},
                                      {"repairable", p.repairable}, {"repaired", p.repaired}});
    }
    print(json::object{{"path", config.storage.path.string()}, {"clean", report.ok()},
                       {"blob_files", report.blob_files}, {"bytes_hashed", report.bytes_hashed},
                       {"index_entries", report.index_entries}, {"file_records", report.file_records},
                       {"problems", std::move(problems)}});
    return report.ok() ? 0 : 1;
  }
  std::size_t harmless = 0;
  std::size_t repaired = 0;
  std::size_t repairable = 0;
  for (const auto& p : report.problems) {
    std::printf("%s %s: %s%s\n", std::string(storage::to_string(p.issue)).c_str(), p.where.c_str(), p.detail.c_str(),
                p.repaired ? " (repaired)" : "");
    harmless += storage::is_harmless(p.issue) ? 1 : 0;
    repaired += p.repaired ? 1 : 0;
    repairable += p.repairable && !p.repaired ? 1 : 0;
  }
  std::string summary = fmt::format("fsck {}: {} blob files ({} bytes) hashed, {} index entries, {} file records: ",
                                    config.storage.path.string(), report.blob_files, report.bytes_hashed,
                                    report.index_entries, report.file_records);
  summary += report.problems.empty() ? "clean"
                                     : fmt::format("{} problems ({} harmless, {} repaired)", report.problems.size(),
                                                   harmless, repaired);
  if (repairable > 0) {
    summary += fmt::format("; airlock fsck --repair fixes {} (stop the server first)", repairable);
  }
  std::puts(summary.c_str());
  return report.ok() ? 0 : 1;
}

} // namespace airlock::cli
