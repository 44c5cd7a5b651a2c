#include "cli/cli.hpp"

#include <csignal>

int
main(int argc, char** argv)
{
  // A client that hangs up mid-sendfile must cost one response, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  return airlock::cli::run(argc, argv);
}
