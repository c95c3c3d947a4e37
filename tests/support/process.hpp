#pragma once
// Runs a shell command line for end-to-end tests, bounded by `timeout`, and
// returns its exit code and standard output. Test-only: the command lines are
// written by the tests themselves.

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace opsgate::test {

struct CommandOutput {
  int exit_code = -1;
  std::string out;
};

inline CommandOutput run_command(const std::string& command, int timeout_seconds = 60) {
  const std::string bounded = "timeout -k 5 " + std::to_string(timeout_seconds) + " sh -c '" + command + "'";
  CommandOutput result;
  FILE* pipe = ::popen(bounded.c_str(), "r");
  if (pipe == nullptr) {
    return result;
  }
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    result.out.append(buffer.data(), n);
  }
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// A fresh directory under /tmp, removed when the object goes.
class TempDir {
 public:
  // `base`: where the directory goes (e.g. /dev/shm, where fsync costs nothing, for load tests).
  explicit TempDir(const std::filesystem::path& base = std::filesystem::temp_directory_path()) {
    std::string pattern = (base / "opsgate-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(file(name), std::ios::binary) << content;
  }
  std::string read(const std::string& name) const {
    std::ifstream in(file(name), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::string path_;
};

}  // namespace opsgate::test
