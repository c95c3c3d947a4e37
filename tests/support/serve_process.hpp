#pragma once
// `opsgate serve --config FILE` as a child process for end-to-end tests:
// started, asked for its port, stopped with SIGTERM (then SIGKILL), and
// started again on the same file (a restart). Every wait is bounded.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <regex>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "tests/support/process.hpp"

extern char** environ;

namespace opsgate::test {

// A loopback port that was free a moment ago (for a server that must come
// back on the same port after a restart).
inline std::uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::address_v4::loopback(), 0});
  return acceptor.local_endpoint().port();
}

class ServeProcess {
 public:
  ServeProcess(const TempDir& dir, std::string config_name, std::string log_name = "serve.log")
      : dir_(dir), config_(std::move(config_name)), log_(std::move(log_name)) {
    start();
  }
  ~ServeProcess() { stop(); }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  void start() {
    const std::string command = "exec " + std::string(OPSGATE_BINARY) + " serve --config " + dir_.file(config_) +
                                " 2>>" + dir_.file(log_);
    const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
    ++starts_;
    if (posix_spawn(&pid_, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
      pid_ = -1;
    }
  }

  // The port of the latest start's "(port N)" log line, waiting up to 10 s.
  std::uint16_t port() const {
    static const std::regex kPort("\\(port ([0-9]+)\\)");
    for (int i = 0; i < 200; ++i) {
      const std::string log = dir_.read(log_);
      int seen = 0;
      std::uint16_t last = 0;
      for (auto it = std::sregex_iterator(log.begin(), log.end(), kPort); it != std::sregex_iterator(); ++it) {
        ++seen;
        last = static_cast<std::uint16_t>(std::stoi((*it)[1]));
      }
      if (seen >= starts_) {
        return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return 0;
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

 private:
  const TempDir& dir_;
  std::string config_;
  std::string log_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  int starts_ = 0;
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
