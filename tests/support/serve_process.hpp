#pragma once
// `opsgate serve --config FILE` in the background for end-to-end tests:
// stderr to a file, the port read from its start-up line, its resident set
// from /proc, SIGTERM (then SIGKILL after a bounded wait) on stop or destruction.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace opsgate::test {

class ServeProcess {
 public:
  ServeProcess(const std::string& config, const std::string& log_file) : log_(log_file) {
    const std::string binary = OPSGATE_BINARY;
    std::vector<std::string> args{binary, "serve", "--config", config};
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  ~ServeProcess() { stop(); }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // The exit code, or -1 when it had to be killed.
  int stop() {
    if (pid_ <= 0) {
      return exit_code_;
    }
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        pid_ = -1;
        return exit_code_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return exit_code_;
  }

  // The port from the start-up log line "(port N", waiting up to 10 s; 0 if none.
  std::uint16_t port() const {
    static const std::regex kPort("\\(port ([0-9]+)");
    for (int i = 0; i < 200; ++i) {
      std::smatch m;
      const std::string text = log();
      if (std::regex_search(text, m, kPort)) {
        return static_cast<std::uint16_t>(std::stoi(m[1]));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return 0;
  }

  std::string log() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // VmRSS of the process in KiB (0 if it is gone).
  long rss_kib() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmRSS:", 0) == 0) {
        return std::stol(line.substr(6));
      }
    }
    return 0;
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

}  // namespace opsgate::test
