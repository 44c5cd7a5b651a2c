#pragma once

// Private to cli/: the entry point main() calls.
// Its one function runs the whole command line.

namespace airlock::cli {

// The whole `airlock` command line: parses argv, runs the subcommand, returns the exit code.
// Errors print exactly one line on stderr.
int run(int argc, char** argv);

} // namespace airlock::cli
