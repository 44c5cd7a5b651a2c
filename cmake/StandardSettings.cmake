# Build options and the airlock_settings interface target that first-party targets link.
option(AIRLOCK_WERROR "Treat warnings as errors" OFF)
option(AIRLOCK_ASAN "Build with AddressSanitizer" OFF)
option(AIRLOCK_UBSAN "Build with UndefinedBehaviorSanitizer" OFF)
option(AIRLOCK_TSAN "Build with ThreadSanitizer" OFF)
option(AIRLOCK_FUZZ "Build the libFuzzer targets of tests/fuzz (clang only)" OFF)

if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

add_library(airlock_settings INTERFACE)
target_compile_options(airlock_settings INTERFACE $<$<CONFIG:Debug>:-D_GLIBCXX_ASSERTIONS>)

if(AIRLOCK_TSAN AND AIRLOCK_ASAN)
  message(FATAL_ERROR "AIRLOCK_TSAN and AIRLOCK_ASAN cannot be combined")
endif()
set(_airlock_sanitizers "")
if(AIRLOCK_ASAN)
  list(APPEND _airlock_sanitizers address)
endif()
if(AIRLOCK_UBSAN)
  list(APPEND _airlock_sanitizers undefined)
endif()
if(AIRLOCK_TSAN)
  list(APPEND _airlock_sanitizers thread)
endif()
if(AIRLOCK_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "AIRLOCK_FUZZ needs clang (libFuzzer): use the asan preset")
  endif()
  # Coverage instrumentation for every object, so the fuzzers are guided through Airlock's code
  # and Beast's parser; only the fuzz targets link the libFuzzer runtime (-fsanitize=fuzzer).
  list(APPEND _airlock_sanitizers fuzzer-no-link)
endif()
if(_airlock_sanitizers)
  list(JOIN _airlock_sanitizers "," _airlock_sanitizer_list)
  # Sanitizers must reach every object, Asio's separately compiled ones included.
  add_compile_options(-fsanitize=${_airlock_sanitizer_list} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${_airlock_sanitizer_list})
  if(AIRLOCK_UBSAN AND CMAKE_CXX_COMPILER_ID MATCHES "Clang" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 16)
    # clang < 16 cannot emit -fsanitize=function's prologue data for coroutines ("Cannot represent
    # a difference across sections", llvm-project#49689); GCC has no such check either.
    add_compile_options(-fno-sanitize=function)
  endif()
endif()
