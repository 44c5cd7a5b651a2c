#pragma once

// The error model: the exception tree for startup and never-should-happen faults, and
// Expected<T> for expected failures, with value_or_throw to convert at the edge.

#include <tl/expected.hpp>

#include <stdexcept>
#include <string>

namespace airlock {

// The one exception tree: startup and configuration faults, and never-should-happen
// faults (LMDB corruption, map full). Expected failures return Expected<T> instead.
class Error : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

class ConfigError : public Error
{
public:
  using Error::Error;
};

class StorageError : public Error
{
public:
  using Error::Error;
};

// An expected failure carries a one-line, human-readable message.
template<typename T> using Expected = tl::expected<T, std::string>;
using tl::make_unexpected;

// Returns the value, or throws E with the error message.
template<typename E, typename T>
T
value_or_throw(Expected<T>&& result)
{
  if (!result) {
    throw E(result.error());
  }
  return std::move(*result);
}

} // namespace airlock
