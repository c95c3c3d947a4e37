#pragma once
// Runs one program (argv, never a shell) as a child process without blocking
// the I/O thread: output through pipes, a deadline, and a reaped child on
// every path. Private to actions/exec.

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "src/core/error.hpp"

namespace opsgate::actions::exec {

// What to run. argv[0] is looked up in PATH when it has no '/'; a relative
// path is resolved against working_dir (or the daemon's directory).
struct ProcessSpec {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // the complete environment, "NAME=value" each
  std::string working_dir;       // empty: the daemon's working directory
  std::chrono::milliseconds timeout{std::chrono::seconds(20)};
  std::size_t output_limit = 64 * 1024;  // per stream; the rest is read and discarded
  std::string label;                     // names the command in errors; argv[0] when empty
};

struct ProcessOutput {
  int exit_code = 0;    // the exit status, or 128 + signal when a signal ended it
  int term_signal = 0;  // the signal that ended it, 0 when it exited
  std::string out;
  std::string err;
  bool truncated = false;  // stdout or stderr went over output_limit
};

// A minimal environment for a child: PATH, HOME and LANG from the daemon (when
// set) and then `extra`, which overrides them. Nothing else of the daemon's
// environment (tokens, secrets) reaches the child.
std::vector<std::string> minimal_environment(const std::map<std::string, std::string>& extra);

// Runs spec in its own process group. Errors: Errc::unavailable when the
// program cannot be started, Errc::timeout when it ran out of time (the group
// gets SIGTERM, then SIGKILL 2 s later, and is reaped before this returns).
// A non-zero exit is not an error here: it is in ProcessOutput.
boost::asio::awaitable<Result<ProcessOutput>> run_process(ProcessSpec spec);

}  // namespace opsgate::actions::exec
