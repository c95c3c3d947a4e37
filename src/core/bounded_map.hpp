#pragma once
// A map that forgets its oldest entries beyond a cap: for what adapters
// remember between messages (which platform message holds an approval's
// buttons, a conversation's service URL), bounded so memory cannot grow.

#include <cstddef>
#include <deque>
#include <string>
#include <unordered_map>

namespace opsgate {

template <class Value>
class BoundedMap {
 public:
  explicit BoundedMap(std::size_t capacity) : capacity_(capacity) {}

  // Inserts or replaces; the oldest key (by first insertion) goes when full.
  void put(const std::string& key, Value value) {
    if (map_.find(key) == map_.end()) {
      order_.push_back(key);
    }
    map_[key] = std::move(value);
    while (order_.size() > capacity_) {
      map_.erase(order_.front());
      order_.pop_front();
    }
  }

  const Value* find(const std::string& key) const {
    const auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }

 private:
  std::size_t capacity_;
  std::unordered_map<std::string, Value> map_;
  std::deque<std::string> order_;
};

}  // namespace opsgate
