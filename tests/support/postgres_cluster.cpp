#include "tests/support/postgres_cluster.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "tests/support/process.hpp"

namespace opsgate::test {

namespace fs = std::filesystem;

namespace {

// The newest /usr/lib/postgresql/<major>/bin holding initdb, or
// $OPSGATE_PG_BINDIR.
std::string find_bin_dir() {
  if (const char* forced = std::getenv("OPSGATE_PG_BINDIR"); forced != nullptr && *forced != '\0') {
    return forced;
  }
  std::vector<std::pair<int, std::string>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string bin = (entry.path() / "bin").string();
    if (::access((bin + "/initdb").c_str(), X_OK) == 0) {
      try {
        found.emplace_back(std::stoi(entry.path().filename().string()), bin);
      } catch (const std::exception&) {
      }
    }
  }
  if (found.empty()) {
    return "";
  }
  std::sort(found.begin(), found.end());
  return found.back().second;
}

// fork + exec as `uid`/`gid` (0: unchanged) with output appended to `log`.
// Between the two the child makes only raw system calls (this process has
// other threads). `die_with_parent`: the child gets SIGQUIT (PostgreSQL's
// immediate shutdown) when this process dies.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log, uid_t uid, gid_t gid,
            bool die_with_parent) {
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
    if (uid != 0) {
      if (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setresgid, gid, gid, gid) != 0 ||
          ::syscall(SYS_setresuid, uid, uid, uid) != 0) {
        ::_exit(126);
      }
    }
    if (!die_with_parent) {
      ::setsid();  // its own session: a signal to the test's process group leaves it
    }
    // After the change of user, which clears it.
    if (die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
      if (::getppid() != parent) {
        ::_exit(127);
      }
    }
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    const int in = ::open("/dev/null", O_RDONLY);
    if (out >= 0 && in >= 0) {
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    ::close_range(3, ~0U, 0);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

// The exit status of `pid` within `limit` (-1 when it had to be killed).
int wait_bounded(pid_t pid, std::chrono::milliseconds limit) {
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

std::string read_tail(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream all;
  all << in.rdbuf();
  const std::string text = all.str();
  return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
}

}  // namespace

std::optional<std::string> PostgresCluster::missing() {
  // Only an explicit opt-out skips: a machine without the server fails the
  // PostgreSQL tests with the install hint (start() below), never passes them.
  const char* opt = std::getenv("OPSGATE_PG_TESTS");
  if (opt != nullptr && std::string(opt) == "0") {
    return std::string("OPSGATE_PG_TESTS=0: the PostgreSQL tests are skipped");
  }
  return std::nullopt;
}

PostgresCluster& PostgresCluster::shared() {
  static std::mutex mutex;
  static std::unique_ptr<PostgresCluster> cluster;
  std::lock_guard lock(mutex);
  if (!cluster) {
    const char* state = std::getenv("OPSGATE_TEST_PG_STATE");
    if (state != nullptr && *state != '\0' && fs::exists(state)) {
      cluster = attach(state);
    } else {
      cluster = std::make_unique<PostgresCluster>(Options{});
    }
  }
  return *cluster;
}

PostgresCluster::PostgresCluster(Options options) : options_(options) {
  bin_dir_ = find_bin_dir();
  if (bin_dir_.empty()) {
    throw std::runtime_error(
        "PostgreSQL's server binaries are not installed (apt-get install postgresql-15; scripts/lib.sh lists it), "
        "or set OPSGATE_PG_BINDIR to the folder holding initdb and postgres");
  }
  if (::geteuid() == 0) {
    // Both refuse to run as root; the Debian package's user owns the cluster.
    const passwd* user = ::getpwnam("postgres");
    if (user == nullptr) {
      throw std::runtime_error("running as root, and there is no `postgres` user to run initdb and postgres as");
    }
    run_uid_ = user->pw_uid;
    run_gid_ = user->pw_gid;
  }
  std::string pattern = (fs::temp_directory_path() / "opsgate-pg-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  dir_ = pattern;
  try {
    if (run_uid_ != 0 && ::chown(dir_.c_str(), run_uid_, run_gid_) != 0) {
      throw std::runtime_error("cannot hand " + dir_ + " to the postgres user");
    }
    const int initialised =
        wait_bounded(spawn({bin_dir_ + "/initdb", "-D", dir_ + "/data", "-U", "opsgate", "-A", "trust", "-E", "UTF8",
                            "--locale=C", "--no-sync", "--no-instructions"},
                           dir_ + "/initdb.log", run_uid_, run_gid_, false),
                     std::chrono::seconds(120));
    if (initialised != 0) {
      throw std::runtime_error("initdb failed (exit " + std::to_string(initialised) + "):\n" +
                               read_tail(dir_ + "/initdb.log"));
    }
    // A port found free can be taken before the server binds it: try a few.
    for (int attempt = 0; attempt < 3 && pid_ <= 0; ++attempt) {
      port_ = free_port();
      start_server();
      if (!wait_ready()) {
        stop();
      }
    }
    if (pid_ <= 0) {
      throw std::runtime_error("postgres did not become ready; its log ends with:\n" + log_tail());
    }
  } catch (...) {
    stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

PostgresCluster::~PostgresCluster() {
  if (!owned_) {
    return;
  }
  stop();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void PostgresCluster::start_server() {
  // fsync off: the tests check logic, and a test cluster that survives a
  // power cut is not worth the time; a benchmark asks for it
  // (Options::durable), to compare with SQLite's fsync. synchronous_commit
  // stays on always: stop() is an immediate shutdown (a crash), and with it
  // off the last commits (the schema a test just made, say) were lost from
  // WAL buffers. On, a commit is written to the OS before it returns.
  const std::string durability = options_.durable ? "on" : "off";
  pid_ = spawn({bin_dir_ + "/postgres", "-D", dir_ + "/data", "-p", std::to_string(port_), "-c",
                "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + dir_, "-c", "fsync=" + durability,
                "-c", "synchronous_commit=on", "-c", "full_page_writes=" + durability, "-c",
                "shared_buffers=32MB", "-c",
                "max_connections=200", "-c", "log_min_messages=warning"},
               dir_ + "/postgres.log", run_uid_, run_gid_, !options_.outlive_this_process);
}

bool PostgresCluster::wait_ready() {
  const auto deadline = std::chrono::steady_clock::now() + options_.ready_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;  // exited (e.g. the port was taken)
      return false;
    }
    try {
      pqxx::connection probe(dsn("postgres") + " connect_timeout=2");
      return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void PostgresCluster::stop() {
  if (pid_ <= 0) {
    return;
  }
  ::kill(pid_, SIGQUIT);  // immediate shutdown: what `pg_ctl stop -m immediate` sends
  wait_bounded(pid_, std::chrono::seconds(20));
  pid_ = -1;
}

void PostgresCluster::start_again() {
  if (pid_ > 0) {
    return;
  }
  start_server();
  if (!wait_ready()) {
    throw std::runtime_error("postgres did not come back; its log ends with:\n" + log_tail());
  }
}

void PostgresCluster::restart() {
  stop();
  start_again();
}

void PostgresCluster::detach_to(const std::string& state_file) {
  std::ofstream out(state_file, std::ios::trunc);
  out << port_ << ' ' << dir_ << ' ' << pid_ << '\n';
  if (!out) {
    throw std::runtime_error("cannot write " + state_file);
  }
  owned_ = false;
}

std::unique_ptr<PostgresCluster> PostgresCluster::attach(const std::string& state_file) {
  std::ifstream in(state_file);
  std::unique_ptr<PostgresCluster> cluster(new PostgresCluster());
  int port = 0;
  if (!(in >> port >> cluster->dir_ >> cluster->pid_)) {
    throw std::runtime_error("cannot read the test cluster's state from " + state_file);
  }
  cluster->port_ = static_cast<std::uint16_t>(port);
  cluster->owned_ = false;
  return cluster;
}

void PostgresCluster::stop_detached(const std::string& state_file) {
  auto cluster = attach(state_file);
  const pid_t pid = cluster->pid_;
  if (pid > 0 && ::kill(pid, SIGQUIT) == 0) {
    // Not our child: wait for it to be gone, bounded.
    for (int i = 0; i < 2000 && ::kill(pid, 0) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  std::error_code ec;
  fs::remove_all(cluster->dir_, ec);
  fs::remove(state_file, ec);
}

std::string PostgresCluster::log_tail() const { return read_tail(dir_ + "/postgres.log"); }

void PostgresCluster::create_database(const std::string& name) {
  pqxx::connection connection(dsn("postgres"));
  pqxx::nontransaction tx(connection);
  tx.exec0("CREATE DATABASE " + tx.quote_name(name));
}

std::string PostgresCluster::fresh_database() {
  std::string name;
  {
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    name = "t" + std::to_string(::getpid()) + "_" + std::to_string(++next_database_);
  }
  create_database(name);
  return dsn(name);
}

std::string PostgresCluster::dsn(const std::string& database) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=opsgate dbname=" + database;
}

std::string PostgresCluster::uri(const std::string& database) const {
  return "postgresql://opsgate@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

}  // namespace opsgate::test
