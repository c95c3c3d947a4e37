// The stand-in Kubernetes API server as a process, for the integration test:
//   k8s_stand_in DIR TOKEN WATCH_PID [ns/name=container=image=replicas ...]
// writes DIR/ca.crt, DIR/port (when listening) and DIR/requests.jsonl (one
// line per request), and runs until DIR/stop appears or process WATCH_PID
// (the test) is gone, at most 5 minutes.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <signal.h>
#include <unistd.h>

#include "tests/support/k8s_stand_in.hpp"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: k8s_stand_in DIR TOKEN WATCH_PID [ns/name=container=image=replicas ...]\n";
    return 2;
  }
  const std::string dir = argv[1];
  try {
    auto pki = opsgate::test::make_k8s_pki(dir);
    opsgate::test::K8sStandIn server(pki, argv[2]);
    server.set_rollout_polls(2);
    const pid_t watch = static_cast<pid_t>(std::stol(argv[3]));
    for (int i = 4; i < argc; ++i) {
      const std::string spec = argv[i];
      const auto slash = spec.find('/');
      const auto e1 = spec.find('=');
      const auto e2 = spec.find('=', e1 + 1);
      const auto e3 = spec.rfind('=');
      if (slash == std::string::npos || e1 == std::string::npos || e2 == std::string::npos || e3 == e2) {
        std::cerr << "bad deployment spec " << spec << "\n";
        return 2;
      }
      server.add_deployment(spec.substr(0, slash), spec.substr(slash + 1, e1 - slash - 1),
                            spec.substr(e1 + 1, e2 - e1 - 1), spec.substr(e2 + 1, e3 - e2 - 1),
                            std::stoi(spec.substr(e3 + 1)));
    }
    server.log_to(dir + "/requests.jsonl");
    std::ofstream(dir + "/port.tmp") << server.port() << "\n";
    std::filesystem::rename(dir + "/port.tmp", dir + "/port");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
    while (std::chrono::steady_clock::now() < deadline && !std::filesystem::exists(dir + "/stop") &&
           ::kill(watch, 0) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // Print the final state so a failing test can show it.
    std::ofstream(dir + "/final.json") << server.replica_sets("shop-prod").dump(2) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "k8s_stand_in: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
