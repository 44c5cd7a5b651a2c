#include <airlock/proxy/cli.hpp>

#include <cstdio>

namespace airlock::proxy {

int
run(int, char**)
{
  std::fputs("airlock: not built yet\n", stderr);
  return 1;
}

} // namespace airlock::proxy
