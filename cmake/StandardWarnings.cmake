# airlock_warnings: linked PRIVATE by first-party targets only, so third-party headers stay quiet.
add_library(airlock_warnings INTERFACE)
target_compile_options(airlock_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  -Wimplicit-fallthrough -Wno-missing-field-initializers
  # GCC 12 misreports coroutine frames (Asio awaitables) as mismatched new/delete.
  -Wno-mismatched-new-delete
  $<$<BOOL:${AIRLOCK_WERROR}>:-Werror>)
