#pragma once

// Private to proxy/: reading [policy] and its [[policy.rule]]s, for config.cpp.

#include "config_reader.hpp"

#include <airlock/policy/policy.hpp>

namespace airlock::proxy::config_reader {

// Reads [policy] (window, on_upstream_removal, history_horizon, the rules) into `out`; every
// problem goes to `problems`, and rules that contradict each other are problems too.
void read_policy(Problems& problems, Section section, policy::Options& out);

} // namespace airlock::proxy::config_reader
