#pragma once
// A real Prometheus (Debian's `prometheus` package) for integration tests:
// OpenMetrics data backfilled with `promtool tsdb create-blocks-from
// openmetrics`, a rule file, and the server on a free loopback port. The
// destructor stops it and reaps it; the child also dies with the test process
// (PR_SET_PDEATHSIG), so a crashed test leaves no Prometheus behind.
// Header-only because tests/CMakeLists.txt compiles only tests/<area>/*.cpp.

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/http_test_client.hpp"
#include "tests/support/process.hpp"

namespace opsgate::test {

class PrometheusServer {
 public:
  struct Options {
    std::string openmetrics;  // the data, ending with "# EOF"; samples within the last hours
    std::string rules;        // a rule file (YAML), or empty for none
    std::string evaluation_interval = "1s";  // short, so alerts over the backfilled data fire at once
    std::chrono::seconds ready_timeout{30};
  };

  // Why this machine cannot run it (a binary not on PATH), or nullopt.
  static std::optional<std::string> missing() {
    for (const char* program : {"prometheus", "promtool"}) {
      if (find_program(program).empty()) {
        return std::string(program) + " is not installed (apt-get install prometheus; scripts/lib.sh lists it)";
      }
    }
    return std::nullopt;
  }

  // Backfills, starts and waits for /-/ready. Throws std::runtime_error (with
  // the end of the log) when any step fails.
  explicit PrometheusServer(Options options) : options_(std::move(options)) {
    if (auto why = missing()) {
      throw std::runtime_error(*why);
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "opsgate-prometheus-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    dir_ = pattern;
    try {
      start();
    } catch (...) {
      cleanup();
      throw;
    }
  }

  ~PrometheusServer() { cleanup(); }
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::chrono::milliseconds backfill_time() const { return backfill_time_; }
  std::chrono::milliseconds start_time() const { return start_time_; }

  // GETs `target` until the body contains `needle` or `timeout` passes; the last body.
  std::string wait_for(const std::string& target, const std::string& needle, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string body;
    for (;;) {
      if (auto response = http_request(port_, "GET", target)) {
        body = response->body;
        if (body.find(needle) != std::string::npos) {
          return body;
        }
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return body;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  std::string log_tail() const {
    std::ifstream in(dir_ + "/prometheus.log");
    std::ostringstream all;
    all << in.rdbuf();
    const std::string text = all.str();
    return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
  }

 private:
  static std::string find_program(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) {
        return candidate;
      }
    }
    return "";
  }

  // fork + exec with output to `log`; everything the child does between the
  // two is async-signal-safe (this process has other threads).
  static pid_t spawn(const std::vector<std::string>& argv, const std::string& log) {
    std::vector<char*> args;
    for (const auto& arg : argv) {
      args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      throw std::runtime_error("fork failed");
    }
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) {
        ::_exit(127);
      }
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      const int in = ::open("/dev/null", O_RDONLY);
      if (out >= 0 && in >= 0) {
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(out, 2);
      }
      ::close_range(3, ~0U, 0);  // the test's sockets stay with the test
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    return pid;
  }

  // Waits for `pid` at most `limit`; kills it if it takes longer. The exit
  // status, or -1 when it had to be killed.
  static int wait_bounded(pid_t pid, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  void write(const std::string& name, const std::string& text) const {
    std::ofstream out(dir_ + "/" + name, std::ios::binary);
    out << text;
    if (!out) {
      throw std::runtime_error("cannot write " + dir_ + "/" + name);
    }
  }

  void start() {
    const auto begin = std::chrono::steady_clock::now();
    write("metrics.om", options_.openmetrics);
    std::filesystem::create_directories(dir_ + "/data");
    const int backfilled = wait_bounded(spawn({find_program("promtool"), "tsdb", "create-blocks-from", "openmetrics",
                                               dir_ + "/metrics.om", dir_ + "/data"},
                                              dir_ + "/promtool.log"),
                                        std::chrono::seconds(120));
    if (backfilled != 0) {
      std::ifstream in(dir_ + "/promtool.log");
      std::ostringstream log;
      log << in.rdbuf();
      throw std::runtime_error("promtool create-blocks-from openmetrics failed: " + log.str().substr(0, 2000));
    }
    std::filesystem::remove(dir_ + "/metrics.om");
    backfill_time_ = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begin);

    std::string config = "global:\n  evaluation_interval: " + options_.evaluation_interval + "\n";
    if (!options_.rules.empty()) {
      write("rules.yml", options_.rules);
      config += "rule_files:\n  - " + dir_ + "/rules.yml\n";
    }
    write("prometheus.yml", config);

    // A port found free can be taken before Prometheus binds it: try a few.
    const auto started = std::chrono::steady_clock::now();
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = free_port();
      pid_ = spawn({find_program("prometheus"), "--config.file=" + dir_ + "/prometheus.yml",
                    "--storage.tsdb.path=" + dir_ + "/data",
                    // Retention counts back from the newest block, so 30d keeps hours-old backfills.
                    "--storage.tsdb.retention.time=30d", "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                    "--log.level=warn"},
                   dir_ + "/prometheus.log");
      if (wait_ready()) {
        start_time_ =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
        return;
      }
      stop();
    }
    throw std::runtime_error("prometheus did not become ready; its log ends with:\n" + log_tail());
  }

  bool wait_ready() {
    const auto deadline = std::chrono::steady_clock::now() + options_.ready_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;  // exited (e.g. the port was taken)
        return false;
      }
      if (auto response = http_request(port_, "GET", "/-/ready"); response && response->status == 200) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  void stop() {
    if (pid_ <= 0) {
      return;
    }
    ::kill(pid_, SIGTERM);
    wait_bounded(pid_, std::chrono::seconds(10));  // SIGKILLs and reaps it if SIGTERM was not enough
    pid_ = -1;
  }

  void cleanup() {
    stop();
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  Options options_;
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::chrono::milliseconds backfill_time_{0};
  std::chrono::milliseconds start_time_{0};
};

}  // namespace opsgate::test
