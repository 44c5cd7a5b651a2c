// The executable: ignores SIGPIPE, then hands argv to the command line. Only this file sees
// everything; the rest links below it.
#include "cli/cli.hpp"

#include <csignal>

int
main(int argc, char** argv)
{
  // A client that hangs up mid-sendfile must cost one response, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  return airlock::cli::run(argc, argv);
}
