#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "actions/exec/process_runner.hpp"
#include "tests/actions/exec_test_support.hpp"

using opsgate::Errc;
using opsgate::Result;
using opsgate::actions::exec::minimal_environment;
using opsgate::actions::exec::ProcessOutput;
using opsgate::actions::exec::ProcessSpec;
using opsgate::actions::exec::run_process;
using opsgate::test_exec::no_children_left;
using opsgate::test_exec::run_to_completion;

namespace {

ProcessSpec spec_of(std::vector<std::string> argv) {
  ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.env = minimal_environment({});
  spec.timeout = std::chrono::seconds(10);
  return spec;
}

Result<ProcessOutput> run(ProcessSpec spec) {
  boost::asio::io_context io;
  return run_to_completion(io, run_process(std::move(spec)));
}

}  // namespace

TEST_SUITE("actions/exec/process_runner") {
  TEST_CASE("arguments reach the program verbatim, with no shell in between") {
    const auto output = run(spec_of({"/bin/echo", "a; echo b", "$(id)", "`id`", "*"}));
    REQUIRE(output);
    CHECK(output->exit_code == 0);
    CHECK(output->out == "a; echo b $(id) `id` *\n");
    CHECK(output->err.empty());
    CHECK_FALSE(output->truncated);
    CHECK(no_children_left());
  }

  TEST_CASE("a non-zero exit is reported with both streams, not as an error") {
    const auto output = run(spec_of({"/bin/sh", "-c", "echo out; echo oops >&2; exit 2"}));
    REQUIRE(output);
    CHECK(output->exit_code == 2);
    CHECK(output->out == "out\n");
    CHECK(output->err == "oops\n");
    CHECK(no_children_left());
  }

  TEST_CASE("a program ended by a signal reports 128 + the signal") {
    const auto output = run(spec_of({"/bin/sh", "-c", "kill -KILL $$"}));
    REQUIRE(output);
    CHECK(output->term_signal == 9);
    CHECK(output->exit_code == 137);
  }

  TEST_CASE("the child sees only PATH, HOME, LANG and the configured variables") {
    ::setenv("OPSGATE_TEST_SECRET", "hunter2", 1);
    ProcessSpec spec = spec_of({"/usr/bin/env"});
    spec.env = minimal_environment({{"OPSGATE_DEMO_STATE", "/tmp/x"}, {"LANG", "C.UTF-8"}});
    const auto output = run(std::move(spec));
    ::unsetenv("OPSGATE_TEST_SECRET");
    REQUIRE(output);
    CHECK(output->out.find("OPSGATE_DEMO_STATE=/tmp/x\n") != std::string::npos);
    CHECK(output->out.find("LANG=C.UTF-8\n") != std::string::npos);
    CHECK(output->out.find("PATH=") != std::string::npos);
    CHECK(output->out.find("hunter2") == std::string::npos);
  }

  TEST_CASE("the child runs in the working directory and reads nothing from stdin") {
    opsgate::test_exec::TempDir dir;
    ProcessSpec spec = spec_of({"/bin/sh", "-c", "pwd; cat"});
    spec.working_dir = dir.str();
    const auto output = run(std::move(spec));
    REQUIRE(output);
    CHECK(output->out == std::filesystem::canonical(dir.path()).string() + "\n");
  }

  TEST_CASE("a command that runs too long is stopped and reported as a timeout") {
    ProcessSpec spec = spec_of({"/bin/sleep", "30"});
    spec.timeout = std::chrono::seconds(1);
    spec.label = "restart";
    const auto output = run(std::move(spec));
    REQUIRE_FALSE(output);
    CHECK(output.error().code == Errc::timeout);
    CHECK(output.error().message == "command `restart` did not finish within 1s and was stopped");
    CHECK(no_children_left());
  }

  TEST_CASE("a command that survives SIGTERM gets it first, then SIGKILL, with what it started") {
    // The shell notes the SIGTERM in a file and loops on: only the SIGKILL that
    // follows can end it (without one, the run never returns and CTest's
    // timeout fails the test).
    opsgate::test_exec::TempDir dir;
    const std::string noted = (dir.path() / "term").string();
    ProcessSpec spec =
        spec_of({"/bin/sh", "-c", "trap 'echo term >> \"$0\"' TERM; while :; do /bin/sleep 0.05; done", noted});
    spec.timeout = std::chrono::milliseconds(500);
    const auto output = run(std::move(spec));
    REQUIRE_FALSE(output);
    CHECK(output.error().code == Errc::timeout);
    CHECK(output.error().message.find("within 500ms") != std::string::npos);
    CHECK(opsgate::test_exec::read_file(noted).rfind("term\n", 0) == 0);
    CHECK(no_children_left());
  }

  TEST_CASE("output over the limit is discarded and flagged, and the child is not blocked") {
    ProcessSpec spec = spec_of({"/bin/sh", "-c", "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2; echo done"});
    spec.output_limit = 1024;
    const auto output = run(std::move(spec));
    REQUIRE(output);
    CHECK(output->exit_code == 0);
    CHECK(output->out.size() == 1024);
    CHECK(output->err.size() == 1024);
    CHECK(output->truncated);
    CHECK(no_children_left());
  }

  TEST_CASE("a missing program is a clear error naming it") {
    const auto absolute = run(spec_of({"/nonexistent/opsgate-tool", "x"}));
    REQUIRE_FALSE(absolute);
    CHECK(absolute.error().code == Errc::unavailable);
    CHECK(absolute.error().message == "cannot run `/nonexistent/opsgate-tool`: No such file or directory");
    const auto searched = run(spec_of({"opsgate-no-such-program"}));
    REQUIRE_FALSE(searched);
    CHECK(searched.error().code == Errc::unavailable);
    CHECK(searched.error().message.find("`opsgate-no-such-program`") != std::string::npos);
    ProcessSpec in_missing_dir = spec_of({"/bin/true"});
    in_missing_dir.working_dir = "/nonexistent/dir";
    const auto moved = run(std::move(in_missing_dir));
    REQUIRE_FALSE(moved);
    CHECK(moved.error().message.find("(working directory /nonexistent/dir)") != std::string::npos);
    CHECK(no_children_left());
  }

  TEST_CASE("several commands run at once without blocking the io thread") {
    // Each command checks in, then waits (bounded) until all four have: they
    // can only all succeed if they run at the same time on the one io thread.
    opsgate::test_exec::TempDir dir;
    const std::string barrier =
        "touch \"$0/$1\"; n=0; while [ $(ls \"$0\" | wc -l) -lt 4 ]; do n=$((n+1)); "
        "[ $n -gt 400 ] && exit 1; /bin/sleep 0.05; done";
    boost::asio::io_context io;
    int finished = 0;
    for (int i = 0; i < 4; ++i) {
      boost::asio::co_spawn(io, run_process(spec_of({"/bin/sh", "-c", barrier, dir.str(), std::to_string(i)})),
                            [&finished](std::exception_ptr error, Result<ProcessOutput> output) {
                              if (!error && output && output->exit_code == 0) {
                                ++finished;
                              }
                            });
    }
    io.run();
    CHECK(finished == 4);
    CHECK(no_children_left());
  }
}
