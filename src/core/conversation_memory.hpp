#pragma once
// The last few exchanges of each chat thread, so a follow-up ("and in
// staging?") can be understood in context. Bounded in turns per thread, bytes
// per turn, age and number of threads; the oldest thread is forgotten first.
// Owned by the pipeline; thread-safe.

#include <chrono>
#include <cstddef>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "src/core/intent_parser.hpp"

namespace opsgate {

struct ConversationLimits {
  std::size_t turns = 4;                       // per thread
  std::size_t bytes_per_turn = 500;            // longer text is cut
  std::chrono::seconds max_age{30 * 60};       // older turns are not context any more
  std::size_t threads = 10000;                 // threads remembered at once
};

class ConversationMemory {
 public:
  explicit ConversationMemory(ConversationLimits limits = {}) : limits_(limits) {}

  // Recent turns of the thread, oldest first, none older than max_age.
  std::vector<ConversationTurn> recent(const std::string& thread_key, std::chrono::system_clock::time_point now) const;
  void remember(const std::string& thread_key, ConversationTurn turn, std::chrono::system_clock::time_point now);

 private:
  struct Entry {
    ConversationTurn turn;
    std::chrono::system_clock::time_point at;
  };
  struct Thread {
    std::vector<Entry> turns;
    std::list<std::string>::iterator order;  // position in lru_
  };
  ConversationLimits limits_;
  mutable std::mutex mutex_;
  std::map<std::string, Thread> threads_;
  std::list<std::string> lru_;  // least recently written first
};

}  // namespace opsgate
