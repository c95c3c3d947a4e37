#pragma once
// A real PostgreSQL (Debian's postgresql-15) for tests: `initdb` into a
// temporary folder, the postmaster on a free loopback port (and a Unix socket
// in that folder), waited for until it answers (bounded), databases created
// on demand, and on teardown an immediate shutdown (SIGQUIT, what
// `pg_ctl stop -m immediate` sends) and the folder removed. The postmaster is
// this process's child, so it also dies with a crashed test
// (PR_SET_PDEATHSIG). initdb and postgres refuse to run as root: as root
// (CI) they run as the `postgres` user, otherwise as the caller.
//
// One cluster per test binary: PostgresCluster::shared() starts it on first
// use; each test case takes a fresh database (fresh_database()). Under ctest,
// where each case is a process of its own, one cluster serves the whole run:
// the fixture tests `postgres_cluster_start|stop` (tests/CMakeLists.txt) run
// `postgres_cluster start|stop <state file>`, and shared() attaches to the
// cluster named by $OPSGATE_TEST_PG_STATE instead of starting one.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace opsgate::test {

class PostgresCluster {
 public:
  struct Options {
    std::chrono::seconds ready_timeout{60};
    // The server keeps running when this process ends (the ctest fixture);
    // stop it with stop_detached().
    bool outlive_this_process = false;
    // fsync, synchronous_commit and full_page_writes on, as in production
    // (benchmarks); tests leave them off.
    bool durable = false;
  };

  // Why the PostgreSQL tests are skipped (only OPSGATE_PG_TESTS=0 skips them;
  // without the server binaries they fail with the install hint), or nullopt.
  static std::optional<std::string> missing();

  // The binary's one cluster, started on first use (thread-safe). Throws
  // std::runtime_error, with the end of the server's log, when it cannot start.
  static PostgresCluster& shared();

  // initdb + start + wait. Throws std::runtime_error on failure.
  explicit PostgresCluster(Options options);
  ~PostgresCluster();
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  // CREATE DATABASE `name` (owned by the cluster's superuser "opsgate").
  void create_database(const std::string& name);
  // A new, empty database with a name of its own; returns its DSN.
  std::string fresh_database();
  // Connection string for `database` over TCP on 127.0.0.1.
  std::string dsn(const std::string& database) const;
  // The same as a postgresql:// URI.
  std::string uri(const std::string& database) const;

  std::uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string log_tail() const;

  // Stops the server as a crash would (SIGQUIT to the postmaster) and starts
  // it again on the same port and data; for reconnect tests. Throws on failure.
  void restart();
  // Writes "port dir pid" for attach() and leaves the server running when
  // this object is destroyed (Options::outlive_this_process).
  void detach_to(const std::string& state_file);
  // The cluster a state file names; this object does not stop it.
  static std::unique_ptr<PostgresCluster> attach(const std::string& state_file);
  // Stops the cluster a state file names and removes its folder and the file.
  static void stop_detached(const std::string& state_file);

  // Stops it (immediate shutdown); start_again() brings it back.
  void stop();
  void start_again();

 private:
  PostgresCluster() = default;
  void start_server();
  bool wait_ready();

  Options options_;
  std::string dir_;
  std::string bin_dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  uid_t run_uid_ = 0;  // 0: run as ourselves
  gid_t run_gid_ = 0;
  int next_database_ = 0;
  bool owned_ = true;  // false: attached or detached; the destructor leaves it running
};

}  // namespace opsgate::test
