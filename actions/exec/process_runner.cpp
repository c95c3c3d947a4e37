#include "actions/exec/process_runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <tuple>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "src/core/duration.hpp"

namespace opsgate::actions::exec {

namespace {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

constexpr auto kTermGrace = std::chrono::seconds(2);
constexpr auto kFirstPoll = std::chrono::milliseconds(1);
constexpr auto kMaxPoll = std::chrono::milliseconds(50);

// Closes a file descriptor unless ownership was handed on.
class OwnedFd {
 public:
  OwnedFd() = default;
  explicit OwnedFd(int fd) : fd_(fd) {}
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  OwnedFd(OwnedFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  OwnedFd& operator=(OwnedFd&& other) noexcept {
    reset();
    fd_ = std::exchange(other.fd_, -1);
    return *this;
  }
  ~OwnedFd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_ = -1;
};

// Last resort when the coroutine is destroyed before it reaped the child
// (cancelled, or its io_context destroyed): kill the group and reap, so no
// process or zombie outlives the request. SIGKILL makes the wait short.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  ~ChildGuard() {
    if (pid_ <= 0) {
      return;
    }
    ::kill(-pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  void release() { pid_ = -1; }

 private:
  pid_t pid_;
};

struct Spawned {
  pid_t pid = -1;
  OwnedFd out;
  OwnedFd err;
};

// posix_spawn's attribute and file-action objects, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attr{};
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

std::string errno_text(int code) { return std::strerror(code); }

Result<Spawned> spawn_child(ProcessSpec& spec, const std::string& label) {
  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  // O_CLOEXEC: the parent's pipe ends must not leak into this or any other
  // child, or EOF would never arrive.
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    return fail(Errc::internal, "cannot create a pipe for `" + label + "`: " + errno_text(errno));
  }
  OwnedFd out_read(out_pipe[0]);
  OwnedFd out_write(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    return fail(Errc::internal, "cannot create a pipe for `" + label + "`: " + errno_text(errno));
  }
  OwnedFd err_read(err_pipe[0]);
  OwnedFd err_write(err_pipe[1]);

  SpawnSetup setup;
  posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&setup.actions, out_write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&setup.actions, err_write.get(), STDERR_FILENO);
  // Descriptors the daemon opened without O_CLOEXEC (sockets, the database)
  // are none of the command's business.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, STDERR_FILENO + 1);
  if (!spec.working_dir.empty()) {
    posix_spawn_file_actions_addchdir_np(&setup.actions, spec.working_dir.c_str());
  }

  // Its own process group, so a timeout stops the command and everything it
  // started; default signal handling and an empty mask, whatever the daemon
  // set up for itself (an ignored SIGPIPE would otherwise be inherited).
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (const int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM}) {
    sigaddset(&defaults, sig);
  }
  posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawnattr_setsigmask(&setup.attr, &empty_mask);
  posix_spawnattr_setsigdefault(&setup.attr, &defaults);

  std::vector<char*> argv;
  argv.reserve(spec.argv.size() + 1);
  for (auto& arg : spec.argv) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(spec.env.size() + 1);
  for (auto& entry : spec.env) {
    envp.push_back(entry.data());
  }
  envp.push_back(nullptr);

  // glibc's posix_spawn uses CLONE_VFORK: the call returns once the child has
  // exec'd (microseconds), and reports an exec failure as its return value.
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0], &setup.actions, &setup.attr, argv.data(), envp.data());
  if (rc != 0) {
    std::string message = "cannot run `" + spec.argv.front() + "`: " + errno_text(rc);
    if (!spec.working_dir.empty()) {
      message += " (working directory " + spec.working_dir + ")";
    }
    return fail(Errc::unavailable, std::move(message));
  }
  Spawned spawned;
  spawned.pid = pid;
  spawned.out = std::move(out_read);
  spawned.err = std::move(err_read);
  return spawned;
}

// One output stream of the child, read until EOF.
struct PipeReader {
  PipeReader(const asio::any_io_executor& executor, int fd, std::size_t output_limit)
      : pipe(executor, fd), limit(output_limit) {}

  void append(const char* data, std::size_t size) {
    const std::size_t room = limit > text.size() ? limit - text.size() : 0;
    if (size > room) {
      truncated = true;
    }
    text.append(data, std::min(size, room));
  }

  asio::posix::stream_descriptor pipe;
  std::size_t limit;
  std::string text;
  bool truncated = false;
};

// Reads until EOF. Output past the limit is still read, so a chatty child
// never blocks on a full pipe; it is only not kept.
asio::awaitable<void> drain(std::shared_ptr<PipeReader> reader) {
  std::array<char, 16384> buffer{};
  for (;;) {
    auto result = co_await reader->pipe.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    const std::size_t size = std::get<1>(result);
    reader->append(buffer.data(), size);
    if (std::get<0>(result)) {
      co_return;  // EOF, or cancelled at the deadline
    }
  }
}

asio::awaitable<void> wait_for(std::shared_ptr<asio::steady_timer> timer) {
  auto result = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  static_cast<void>(result);  // expiry and cancellation both end the wait
}

enum class ChildState { running, exited, lost };

struct ExitStatus {
  ChildState state = ChildState::running;
  int status = 0;
};

ExitStatus poll_exit(pid_t pid) {
  for (;;) {
    int status = 0;
    const pid_t reaped = ::waitpid(pid, &status, WNOHANG);
    if (reaped == pid) {
      return {ChildState::exited, status};
    }
    if (reaped == 0) {
      return {ChildState::running, 0};
    }
    if (errno != EINTR) {
      return {ChildState::lost, 0};
    }
  }
}

// Polls waitpid(WNOHANG) with a growing delay until the child exits or the
// deadline passes. A SIGCHLD handler would be process-wide state; polling is
// cheap because it starts only after both pipes reached EOF, when the child
// is normally already gone.
asio::awaitable<ExitStatus> wait_exit(pid_t pid, Clock::time_point deadline) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  Clock::duration delay = kFirstPoll;
  for (;;) {
    const ExitStatus now = poll_exit(pid);
    if (now.state != ChildState::running) {
      co_return now;
    }
    const auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) {
      co_return now;
    }
    timer.expires_after(std::min(delay, left));
    auto waited = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (std::get<0>(waited)) {
      co_return poll_exit(pid);
    }
    delay = std::min<Clock::duration>(delay * 2, kMaxPoll);
  }
}

// SIGTERM to the group, SIGKILL after the grace period, then reap. The
// SIGKILL goes out even when the leader left in time, for anything it
// started that ignored SIGTERM.
asio::awaitable<ExitStatus> stop_group(pid_t pid) {
  ::kill(-pid, SIGTERM);
  const auto grace_end = Clock::now() + kTermGrace;
  auto graceful = co_await wait_exit(pid, grace_end);
  ::kill(-pid, SIGKILL);
  if (graceful.state != ChildState::running) {
    co_return graceful;
  }
  auto killed = co_await wait_exit(pid, Clock::time_point::max());
  co_return killed;
}

std::string describe(std::chrono::milliseconds timeout) {
  if (timeout.count() > 0 && timeout.count() % 1000 == 0) {
    return format_duration(timeout.count() / 1000);
  }
  return std::to_string(timeout.count()) + "ms";
}

}  // namespace

std::vector<std::string> minimal_environment(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> merged;
  for (const char* name : {"PATH", "HOME", "LANG"}) {
    if (const char* value = std::getenv(name)) {
      merged[name] = value;
    }
  }
  if (merged.count("PATH") == 0) {
    merged["PATH"] = "/usr/local/bin:/usr/bin:/bin";
  }
  for (const auto& [name, value] : extra) {
    merged[name] = value;
  }
  std::vector<std::string> out;
  out.reserve(merged.size());
  for (const auto& [name, value] : merged) {
    out.push_back(name + "=" + value);
  }
  return out;
}

boost::asio::awaitable<Result<ProcessOutput>> run_process(ProcessSpec spec) {
  if (spec.argv.empty() || spec.argv.front().empty()) {
    co_return fail(Errc::internal, "run_process was given an empty command");
  }
  const std::string label = spec.label.empty() ? spec.argv.front() : spec.label;
  auto executor = co_await asio::this_coro::executor;
  auto spawned = spawn_child(spec, label);
  if (!spawned) {
    co_return tl::unexpected(spawned.error());
  }
  const pid_t pid = spawned->pid;
  ChildGuard guard(pid);

  auto out = std::make_shared<PipeReader>(executor, spawned->out.release(), spec.output_limit);
  auto err = std::make_shared<PipeReader>(executor, spawned->err.release(), spec.output_limit);
  const auto deadline = Clock::now() + spec.timeout;
  auto timer = std::make_shared<asio::steady_timer>(executor, deadline);

  // Both pipes to EOF, or the deadline, whichever comes first; the loser is
  // cancelled and has finished when the co_await returns.
  auto readers = drain(out) && drain(err);
  auto raced = co_await (std::move(readers) || wait_for(timer));
  bool timed_out = raced.index() == 1;

  ExitStatus exit_status;
  if (!timed_out) {
    exit_status = co_await wait_exit(pid, deadline);
    timed_out = exit_status.state == ChildState::running;
  }
  if (timed_out) {
    auto stopped = co_await stop_group(pid);
    guard.release();
    static_cast<void>(stopped);
    co_return fail(Errc::timeout, "command `" + label + "` did not finish within " + describe(spec.timeout) +
                                      " and was stopped");
  }
  guard.release();
  if (exit_status.state == ChildState::lost) {
    co_return fail(Errc::internal, "lost track of `" + label + "` (pid " + std::to_string(pid) +
                                       "): something else reaped it; is SIGCHLD ignored?");
  }

  ProcessOutput output;
  if (WIFEXITED(exit_status.status)) {
    output.exit_code = WEXITSTATUS(exit_status.status);
  } else if (WIFSIGNALED(exit_status.status)) {
    output.term_signal = WTERMSIG(exit_status.status);
    output.exit_code = 128 + output.term_signal;
  }
  output.out = std::move(out->text);
  output.err = std::move(err->text);
  output.truncated = out->truncated || err->truncated;
  co_return output;
}

}  // namespace opsgate::actions::exec
