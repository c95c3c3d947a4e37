#include "src/core/request_id.hpp"

#include <cstdio>
#include <random>

namespace opsgate {

std::string new_request_id() {
  // One generator per thread: no lock, and ids stay unpredictable enough to
  // not be guessable from the previous one.
  thread_local std::mt19937_64 generator{std::random_device{}()};
  const std::uint64_t value = generator() & 0xffffffffffffULL;
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%012llx", static_cast<unsigned long long>(value));
  return buffer;
}

}  // namespace opsgate
