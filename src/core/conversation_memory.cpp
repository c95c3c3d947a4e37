#include "src/core/conversation_memory.hpp"
#include "src/core/text.hpp"

namespace opsgate {

std::vector<ConversationTurn> ConversationMemory::recent(const std::string& thread_key,
                                                         std::chrono::system_clock::time_point now) const {
  std::vector<ConversationTurn> out;
  if (limits_.turns == 0) {
    return out;
  }
  std::lock_guard lock(mutex_);
  const auto it = threads_.find(thread_key);
  if (it == threads_.end()) {
    return out;
  }
  for (const auto& entry : it->second.turns) {
    if (now - entry.at <= limits_.max_age) {
      out.push_back(entry.turn);
    }
  }
  return out;
}

void ConversationMemory::remember(const std::string& thread_key, ConversationTurn turn,
                                  std::chrono::system_clock::time_point now) {
  if (limits_.turns == 0 || limits_.threads == 0) {
    return;
  }
  turn.user_text = text::truncate_utf8(turn.user_text, limits_.bytes_per_turn);
  turn.understood = text::truncate_utf8(turn.understood, limits_.bytes_per_turn);
  std::lock_guard lock(mutex_);
  auto it = threads_.find(thread_key);
  if (it == threads_.end()) {
    while (threads_.size() >= limits_.threads && !lru_.empty()) {
      threads_.erase(lru_.front());
      lru_.pop_front();
    }
    lru_.push_back(thread_key);
    it = threads_.emplace(thread_key, Thread{{}, std::prev(lru_.end())}).first;
  } else {
    lru_.splice(lru_.end(), lru_, it->second.order);
  }
  auto& turns = it->second.turns;
  turns.push_back(Entry{std::move(turn), now});
  if (turns.size() > limits_.turns) {
    turns.erase(turns.begin(), turns.begin() + static_cast<std::ptrdiff_t>(turns.size() - limits_.turns));
  }
}

}  // namespace opsgate
