#include <airlock/proxy/cli.hpp>

int
main(int argc, char** argv)
{
  return airlock::proxy::run(argc, argv);
}
