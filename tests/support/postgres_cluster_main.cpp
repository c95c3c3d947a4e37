// `postgres_cluster start <state file>`: starts a test cluster that outlives
// this process and writes where it is; `postgres_cluster stop <state file>`
// stops it and removes it. The ctest fixture around the suites that use
// PostgreSQL, so a run starts one cluster, not one per test case.

#include <cstdio>
#include <exception>
#include <string>

#include "tests/support/postgres_cluster.hpp"

int main(int argc, char** argv) {
  if (argc != 3 || (std::string(argv[1]) != "start" && std::string(argv[1]) != "stop")) {
    std::fprintf(stderr, "usage: postgres_cluster start|stop <state file>\n");
    return 2;
  }
  try {
    if (std::string(argv[1]) == "stop") {
      opsgate::test::PostgresCluster::stop_detached(argv[2]);
      return 0;
    }
    opsgate::test::PostgresCluster::Options options;
    options.outlive_this_process = true;
    opsgate::test::PostgresCluster cluster(options);
    cluster.detach_to(argv[2]);
    std::printf("PostgreSQL test cluster on 127.0.0.1:%u in %s\n", static_cast<unsigned>(cluster.port()),
                cluster.dir().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "postgres_cluster: %s\n", e.what());
    return 1;
  }
}
