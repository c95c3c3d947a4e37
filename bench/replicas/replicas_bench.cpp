// Replies per second of `opsgate serve` on SQLite (one replica) against
// PostgreSQL with one and with two replicas, in one run (issue #21).
//
//   replicas_bench OPSGATE_BINARY [--requests N] [--fixtures DIR] [--rounds N]
//                  [--concurrency 16,64] [--mixes whoami,restart,metrics]
//
// In this process: bench/e2e's stand-ins (Slack Web API, Prometheus) and load
// generator (slack_load.hpp), and a throw-away PostgreSQL 15 cluster
// (tests/support/postgres_cluster: initdb in a temporary folder, loopback
// port, fsync and synchronous_commit on as in production; stopped and removed
// at the end). Four `opsgate serve` run side by side: one on a SQLite file,
// one on PostgreSQL database `one`, two on database `two`. Each cell (mix ×
// concurrency) runs the three set-ups back to back, so the machine's drift
// hits them alike; with two replicas connection c goes to replica c % 2. Each
// event has its own event_id and thread; a figure ends when the reply is
// posted in that thread. `restart` is a write (exec /bin/true, no approval,
// a durable `started` before it runs). For the
// PostgreSQL set-ups it also prints, per reply, the transactions that wrote
// (transaction ids handed out) and the WAL written, in the whole cluster; and
// for every set-up the CPU time per reply of its opsgate processes ("og") and
// of all PostgreSQL processes ("pg": idle for SQLite, the others' lease renewals).

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "bench/e2e/slack_load.hpp"
#include "tests/support/postgres_cluster.hpp"

using namespace opsgate::bench;

namespace {

// PostgreSQL's own counters, read at once (pg_stat_* lag by up to 10 s):
// transaction ids handed out (one per transaction that wrote) and the WAL
// position, both of the whole cluster; the replicas of other set-ups only
// renew their leases meanwhile.
struct PgCounters {
  double writes = 0;
  double wal_bytes = 0;
};

PgCounters pg_counters(const std::string& dsn) {
  pqxx::connection connection(dsn);
  pqxx::nontransaction tx(connection);
  const pqxx::row row = tx.exec1(
      "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::float8, "
      "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::float8");
  return PgCounters{row[0].as<double>(), row[1].as<double>()};
}

// CPU time (user + system) of a process, in ms, from /proc/PID/stat; 0 if gone.
double cpu_ms_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) {
    return 0;
  }
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field && i <= 15; ++i) {
    if (i == 14 || i == 15) {  // utime, stime
      ticks += std::stod(field);
    }
  }
  return ticks * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// CPU of the postmaster and every process it started (backends, WAL writer,
// checkpointer...), alive now: a backend that ended during the cell is lost,
// but the replicas keep their connections.
double cluster_cpu_ms(const opsgate::test::PostgresCluster& cluster) {
  std::ifstream pid_file(cluster.dir() + "/data/postmaster.pid");
  pid_t postmaster = 0;
  pid_file >> postmaster;
  double total = cpu_ms_of(postmaster);
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::ifstream status(entry.path() / "status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("PPid:", 0) == 0) {
        if (std::stol(line.substr(5)) == postmaster) {
          total += cpu_ms_of(static_cast<pid_t>(std::stol(name)));
        }
        break;
      }
    }
  }
  return total;
}

struct Setup {
  std::string name;
  std::string database;  // PostgreSQL's, or empty for SQLite
  std::vector<std::unique_ptr<Serve>> replicas;
  double cpu_ms() const {
    double total = 0;
    for (const auto& r : replicas) {
      total += cpu_ms_of(r->pid());
    }
    return total;
  }
  std::vector<std::uint16_t> ports() const {
    std::vector<std::uint16_t> out;
    for (const auto& r : replicas) {
      out.push_back(r->port());
    }
    return out;
  }
};

std::string pg_storage(const opsgate::test::PostgresCluster& cluster, const std::string& database,
                       const std::filesystem::path& unused_path) {
  // storage.path is never opened on PostgreSQL; it names a file that does not exist.
  return "storage:\n  path: " + unused_path.string() + "\n  backend: postgres\n  postgres:\n    dsn: \"" +
         cluster.dsn(database) + "\"\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: replicas_bench OPSGATE_BINARY [--requests N] [--fixtures DIR] [--rounds N] "
                 "[--concurrency 16,64] [--mixes whoami,restart,metrics]\n");
    return 2;
  }
  const std::string binary = argv[1];
  std::uint64_t requests = 2000;
  int rounds = 1;
  std::string fixtures = OPSGATE_BENCH_FIXTURES;
  std::vector<int> concurrencies{16, 64};
  std::vector<Mix> mixes{Mix::whoami, Mix::restart};
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--requests") {
      requests = std::stoull(argv[i + 1]);
    } else if (flag == "--fixtures") {
      fixtures = argv[i + 1];
    } else if (flag == "--rounds") {
      rounds = std::stoi(argv[i + 1]);
    } else if (flag == "--concurrency") {
      concurrencies = parse_concurrencies(argv[i + 1]);
    } else if (flag == "--mixes") {
      const auto parsed = parse_mixes(argv[i + 1], {Mix::whoami, Mix::restart, Mix::metrics});
      if (!parsed) {
        std::fprintf(stderr, "replicas_bench: unknown mix in %s (whoami, restart, metrics)\n", argv[i + 1]);
        return 2;
      }
      mixes = *parsed;
    } else {
      std::fprintf(stderr, "replicas_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  ::signal(SIGPIPE, SIG_IGN);
  const auto dir = std::filesystem::temp_directory_path() / ("opsgate-replicas-" + std::to_string(::getpid()));
  try {
    std::filesystem::create_directories(dir);
    Replies replies;
    StandIns stand_ins(fixtures, replies);
    opsgate::test::PostgresCluster::Options pg_options;
    pg_options.durable = true;
    opsgate::test::PostgresCluster cluster(pg_options);
    cluster.create_database("one");
    cluster.create_database("two");
    const std::string restart = "[/bin/true]";
    const std::filesystem::path no_file = dir / "not-used" / "opsgate.db";

    std::vector<Setup> setups;
    setups.push_back(Setup{"SQLite, 1 replica", "", {}});
    setups.back().replicas.push_back(std::make_unique<Serve>(
        binary, dir, bench_config("storage:\n  path: " + (dir / "opsgate.db").string() + "\n", stand_ins.port(), restart),
        "sqlite"));
    setups.push_back(Setup{"PostgreSQL, 1 replica", "one", {}});
    setups.back().replicas.push_back(std::make_unique<Serve>(
        binary, dir, bench_config(pg_storage(cluster, "one", no_file), stand_ins.port(), restart), "pg-one"));
    setups.push_back(Setup{"PostgreSQL, 2 replicas", "two", {}});
    for (const char* name : {"pg-two-a", "pg-two-b"}) {
      setups.back().replicas.push_back(std::make_unique<Serve>(
          binary, dir, bench_config(pg_storage(cluster, "two", no_file), stand_ins.port(), restart), name));
    }
    const std::string admin = cluster.dsn("postgres");
    std::atomic<std::uint64_t> ids{1};
    // Warm-up: each replica's first requests open connections and fill caches.
    for (auto& setup : setups) {
      (void)run_cell(Mix::whoami, false, setup.ports(), 4, 200, replies, ids);
    }

    std::printf("replicas: %llu requests per cell, %d round(s); load average at start %s; %u cores\n",
                static_cast<unsigned long long>(requests), rounds, load_average().c_str(),
                std::thread::hardware_concurrency());
    std::printf("%-24s %-18s %5s %10s %8s %8s %8s %7s | %8s %9s %9s %8s %8s\n", "set-up", "mix", "conc", "replies/s", "p50 ms",
                "p95 ms", "p99 ms", "failed", "x SQLite", "writes/r", "WAL KB/r", "og CPU/r", "pg CPU/r");
    std::fflush(stdout);
    for (int round = 0; round < rounds; ++round) {
      for (const int concurrency : concurrencies) {
        for (const Mix mix : mixes) {
          double sqlite_rate = 0;
          for (auto& setup : setups) {
            const PgCounters before = setup.database.empty() ? PgCounters{} : pg_counters(admin);
            const double opsgate_before = setup.cpu_ms();
            const double postgres_before = cluster_cpu_ms(cluster);
            Cell cell = run_cell(mix, false, setup.ports(), concurrency, requests, replies, ids);
            const double rate = static_cast<double>(cell.ms.size()) / cell.seconds;
            if (sqlite_rate == 0) {
              sqlite_rate = rate;
            }
            const double opsgate_cpu = setup.cpu_ms() - opsgate_before;
            const double postgres_cpu = cluster_cpu_ms(cluster) - postgres_before;
            const double replied = static_cast<double>(std::max<std::size_t>(cell.ms.size(), 1));
            std::string per_reply = "        -         -";
            if (!setup.database.empty()) {
              const PgCounters after = pg_counters(admin);
              const double n = static_cast<double>(std::max<std::size_t>(cell.ms.size(), 1));
              char text[32];
              std::snprintf(text, sizeof text, "%9.2f %9.2f", (after.writes - before.writes) / n,
                            (after.wal_bytes - before.wal_bytes) / n / 1024.0);
              per_reply = text;
            }
            std::printf("%-24s %-18s %5d %10.0f %8.2f %8.2f %8.2f %7d | %8.2f %s %8.3f %8.3f\n", setup.name.c_str(),
                        mix_name(mix), concurrency, rate, quantile(cell.ms, 0.5), quantile(cell.ms, 0.95),
                        quantile(cell.ms, 0.99), cell.failed, rate / sqlite_rate, per_reply.c_str(),
                        opsgate_cpu / replied, postgres_cpu / replied);
            std::fflush(stdout);
          }
        }
      }
    }
    std::printf("load average at end %s\n", load_average().c_str());
    for (auto& setup : setups) {
      for (auto& replica : setup.replicas) {
        const std::string log = replica->read_log();
        if (log.find("error") != std::string::npos || log.find("unreachable") != std::string::npos) {
          std::printf("note: a %s replica logged errors; the end of its log:\n%s\n", setup.name.c_str(),
                      log.substr(log.size() > 2000 ? log.size() - 2000 : 0).c_str());
        }
      }
    }
    setups.clear();  // SIGTERM to every replica before the cluster stops
  } catch (const std::exception& e) {
    std::fprintf(stderr, "replicas_bench: %s\n", e.what());
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return 1;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
