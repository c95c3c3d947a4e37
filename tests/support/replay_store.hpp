#pragma once
// An opened replay store for adapter tests: the daemon opens the real one at
// start-up; tests that build an adapter directly open theirs here.

#include <memory>
#include <stdexcept>
#include <string>

#include "src/audit/replay_store.hpp"

namespace opsgate::test {

inline std::shared_ptr<audit::ReplayStore> open_replay_store(const std::string& path = ":memory:") {
  auto store = std::make_shared<audit::ReplayStore>(path, std::chrono::hours(1));
  if (auto opened = store->open(); !opened) {
    throw std::runtime_error(opened.error().message);
  }
  return store;
}

}  // namespace opsgate::test
