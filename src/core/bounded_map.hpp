#pragma once
// A map that forgets its oldest entries beyond a cap on entries and,
// optionally, on bytes: for what adapters remember between messages (which
// platform message holds an approval's buttons, a conversation's service
// URL), bounded so memory cannot grow whatever callers send.

#include <cstddef>
#include <deque>
#include <limits>
#include <string>
#include <unordered_map>

namespace opsgate {

template <class Value>
class BoundedMap {
 public:
  explicit BoundedMap(std::size_t capacity, std::size_t max_bytes = std::numeric_limits<std::size_t>::max())
      : capacity_(capacity), max_bytes_(max_bytes) {}

  // Inserts or replaces; the oldest keys (by first insertion) go while the
  // map holds more than `capacity` entries or `max_bytes` (the sum of the
  // `bytes` given for each entry).
  void put(const std::string& key, Value value, std::size_t bytes = 0) {
    auto it = map_.find(key);
    if (it == map_.end()) {
      order_.push_back(key);
      it = map_.emplace(key, Entry{std::move(value), bytes}).first;
    } else {
      bytes_ -= it->second.bytes;
      it->second = Entry{std::move(value), bytes};
    }
    bytes_ += bytes;
    while (!order_.empty() && (map_.size() > capacity_ || bytes_ > max_bytes_)) {
      erase(order_.front());
    }
  }

  const Value* find(const std::string& key) const {
    const auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second.value;
  }
  Value* find(const std::string& key) {
    const auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second.value;
  }

  void erase(const std::string& key) {
    const auto it = map_.find(key);
    if (it == map_.end()) {
      return;
    }
    bytes_ -= it->second.bytes;
    map_.erase(it);
    // O(n) only when a key goes before its turn; the usual eviction pops the front.
    if (!order_.empty() && order_.front() == key) {
      order_.pop_front();
    } else {
      std::erase(order_, key);
    }
  }

  std::size_t size() const { return map_.size(); }
  std::size_t bytes() const { return bytes_; }

 private:
  struct Entry {
    Value value;
    std::size_t bytes = 0;
  };
  std::size_t capacity_;
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::unordered_map<std::string, Entry> map_;
  std::deque<std::string> order_;
};

}  // namespace opsgate
