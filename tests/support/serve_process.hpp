#pragma once
// `opsgate serve --config FILE` as a child process for end-to-end tests:
// stderr appended to a log file, started, asked for its port, its resident
// set read from /proc, stopped with SIGTERM (then SIGKILL), and started again
// on the same file (a restart). Every wait is bounded.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "tests/support/process.hpp"

extern char** environ;

namespace opsgate::test {

class ServeProcess {
 public:
  // `config_name` and `log_name` are files in `dir`.
  ServeProcess(const TempDir& dir, const std::string& config_name, const std::string& log_name = "serve.log")
      : ServeProcess(dir.file(config_name), dir.file(log_name)) {}
  // Full paths.
  ServeProcess(std::string config_path, std::string log_path)
      : config_(std::move(config_path)), log_(std::move(log_path)) {
    start();
  }
  ~ServeProcess() { stop(); }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  void start() {
    // Port lines already in the log belong to earlier starts.
    ports_before_ = port_lines().size();
    const std::string binary = OPSGATE_BINARY;
    std::vector<std::string> args{binary, "serve", "--config", config_};
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }

  // The port of the latest start's "(port N)" log line, waiting up to 10 s; 0 if none.
  std::uint16_t port() const {
    for (int i = 0; i < 200; ++i) {
      const std::vector<std::uint16_t> ports = port_lines();
      if (ports.size() > ports_before_) {
        return ports.back();
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

  // /proc/<pid>/maps: which files (libraries) the process has mapped now.
  std::string maps() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/maps");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  int stop() {
    if (pid_ <= 0) {
      return exit_code_;
    }
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        return exit_code_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return -1;
  }

  // SIGKILL, as a node failure or the OOM killer would: no drain, no
  // release; reaped before this returns.
  void kill_now() {
    if (pid_ <= 0) {
      return;
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    exit_code_ = -1;
  }

 private:
  std::vector<std::uint16_t> port_lines() const {
    static const std::regex kPort("\\(port ([0-9]+)\\)");
    const std::string text = log();
    std::vector<std::uint16_t> ports;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), kPort); it != std::sregex_iterator(); ++it) {
      ports.push_back(static_cast<std::uint16_t>(std::stoi((*it)[1])));
    }
    return ports;
  }

  std::string config_;
  std::string log_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::size_t ports_before_ = 0;
};

// A shell command line in the background; its exit code lands in `rc_file`.
class Background {
 public:
  Background(const std::string& command, const std::string& rc_file) {
    const std::string line = command + "; echo $? > " + rc_file;
    const char* argv[] = {"sh", "-c", line.c_str(), nullptr};
    if (posix_spawn(&pid_, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
      pid_ = -1;
    }
  }
  ~Background() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  // Waits (bounded) for the command to end.
  bool wait(std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  pid_t pid_ = -1;
};

}  // namespace opsgate::test
