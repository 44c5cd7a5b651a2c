# Every dependency is a Debian 12 package; .ci/run and the README install them.
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED CONFIG COMPONENTS json url)
find_package(OpenSSL 3 REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(fmt REQUIRED)
find_package(ZLIB REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LMDB REQUIRED IMPORTED_TARGET lmdb)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
find_path(TL_EXPECTED_INCLUDE_DIR tl/expected.hpp REQUIRED)
if(AIRLOCK_TESTS)
  find_package(GTest REQUIRED)
endif()

# Asio, Asio-SSL and Beast compiled once, in their own translation units.
add_library(airlock_asio STATIC
  ${PROJECT_SOURCE_DIR}/proxy/http/lib_asio.cpp
  ${PROJECT_SOURCE_DIR}/proxy/http/lib_asio_ssl.cpp
  ${PROJECT_SOURCE_DIR}/proxy/http/lib_beast.cpp)
target_compile_definitions(airlock_asio PUBLIC
  BOOST_ASIO_SEPARATE_COMPILATION BOOST_BEAST_SEPARATE_COMPILATION BOOST_ASIO_NO_DEPRECATED)
target_link_libraries(airlock_asio PUBLIC Boost::headers OpenSSL::SSL OpenSSL::Crypto Threads::Threads)
