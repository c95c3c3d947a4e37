// Audit log throughput: N appends from C concurrent coroutines, each one
// completing only when durable (WAL, synchronous=FULL). Prints appends/s and
// how many commits group commit needed.

#include <chrono>
#include <cstdio>
#include <filesystem>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "src/audit/sqlite_audit_log.hpp"

using namespace opsgate;
namespace asio = boost::asio;

namespace {
asio::awaitable<void> writer(AuditLog& log, int count, int& done) {
  for (int i = 0; i < count; ++i) {
    AuditEvent e;
    e.request_id = "bench";
    e.kind = "received";
    e.principal = "shell:bench";
    e.detail = "restart cart in staging";
    auto r = co_await log.append(std::move(e));
    if (r) ++done;
  }
}
}  // namespace

int main(int argc, char** argv) {
  const int concurrent = argc > 1 ? std::atoi(argv[1]) : 64;
  const int per_writer = argc > 2 ? std::atoi(argv[2]) : 100;
  const std::string path = (std::filesystem::temp_directory_path() / "opsgate-audit-bench.db").string();
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  SystemClock clock;
  auto log = std::move(*audit::SqliteAuditLog::open(path, clock));
  asio::io_context io;
  int done = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int c = 0; c < concurrent; ++c) {
    asio::co_spawn(io, writer(*log, per_writer, done), asio::detached);
  }
  io.run();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("audit: %d durable appends from %d writers in %.2f s = %.0f appends/s, %lld commits (%.1f events/commit)\n",
              done, concurrent, s, done / s, static_cast<long long>(log->commits()),
              static_cast<double>(done) / static_cast<double>(log->commits()));
  log->close();
  std::filesystem::remove(path);
  return 0;
}
