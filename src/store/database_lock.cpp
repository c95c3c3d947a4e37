#include "src/store/database_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace opsgate::store {

namespace {

std::string read_owner(int fd) {
  char buffer[512];
  const ssize_t n = ::pread(fd, buffer, sizeof(buffer) - 1, 0);
  std::string owner(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!owner.empty() && (owner.back() == '\n' || owner.back() == '\0')) {
    owner.pop_back();
  }
  return owner.empty() ? std::string("another opsgate process") : owner;
}

}  // namespace

Result<std::unique_ptr<DatabaseLock>> DatabaseLock::acquire(const std::string& database_path,
                                                            const std::string& owner) {
  const std::string path = database_path + ".lock";
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::filesystem::create_directories(parent, ec);
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return fail(Errc::storage, "cannot open the lock file " + path + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string holder = read_owner(fd);
    ::close(fd);
    if (error != EWOULDBLOCK) {
      return fail(Errc::storage, "cannot lock " + path + ": " + std::strerror(error));
    }
    return fail(Errc::conflict, database_path + " is in use by " + holder +
                                    ". One process writes a database: stop that one first, or give this one its "
                                    "own storage.path. `opsgate audit tail|show|verify|export` read it at any time.");
  }
  // Who holds it, for the message the next process gets.
  const std::time_t now = std::time(nullptr);
  char since[32] = {};
  std::strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  const std::string text = owner + " (pid " + std::to_string(::getpid()) + ", since " + since + ")\n";
  // Best effort: the lock holds regardless; only the next process's message would be vaguer.
  [[maybe_unused]] const bool written =
      ::ftruncate(fd, 0) == 0 && ::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size());
  return std::unique_ptr<DatabaseLock>(new DatabaseLock(fd));
}

DatabaseLock::~DatabaseLock() {
  ::close(fd_);
}

}  // namespace opsgate::store
