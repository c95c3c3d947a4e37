#pragma once
// One writing process per database file. The daemon (`serve`, `shell`) holds
// an exclusive lock on `<db>.lock` for its lifetime; a second writer pointed
// at the same file is refused at start with a message naming the owner,
// instead of moving the audit head under it or marking its in-flight
// approvals failed. The kernel drops the lock when the owner exits (even on
// a crash), so a stale owner never blocks. Readers (`opsgate audit ...`)
// never take it. Owned by the daemon's main thread.

#include <memory>
#include <string>

#include "src/core/error.hpp"

namespace opsgate::store {

class DatabaseLock {
 public:
  // `owner` describes this process for the message another one would get
  // ("opsgate serve"); the pid and the start time are added.
  static Result<std::unique_ptr<DatabaseLock>> acquire(const std::string& database_path, const std::string& owner);
  ~DatabaseLock();
  DatabaseLock(const DatabaseLock&) = delete;
  DatabaseLock& operator=(const DatabaseLock&) = delete;

 private:
  explicit DatabaseLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace opsgate::store
