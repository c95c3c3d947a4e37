#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "tests/support/process.hpp"

using opsgate::test::run_command;
using opsgate::test::TempDir;

namespace {
std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

TEST_SUITE("integration/eval") {
  TEST_CASE("opsgate eval compares variants on the dev set and writes report.csv and report.html") {
    TempDir dir;
    const std::string cmd = std::string(OPSGATE_BINARY) + " eval --dataset " + OPSGATE_SHARED_DIR +
                            "/eval/intents-dev.jsonl --variant builtin=intent.parsers=command,nlu"
                            " --variant strict=intent.min_confidence=0.99 --variant command=intent.parsers=command"
                            " --report " + dir.path() + "/out 2>&1";
    const auto out = run_command(cmd, 120);
    INFO(out.out);
    CHECK(out.exit_code == 0);
    CHECK(out.out.find("== builtin (intent.parsers=command,nlu)") != std::string::npos);
    CHECK(out.out.find("== strict (intent.min_confidence=0.99)") != std::string::npos);
    CHECK(out.out.find("param accuracy:") != std::string::npos);
    const std::string csv = read(dir.path() + "/out/report.csv");
    CHECK(csv.find("builtin,\"intent.parsers=command,nlu\",(all),") != std::string::npos);
    CHECK(csv.find("command,intent.parsers=command,(all),") != std::string::npos);
    const std::string html = read(dir.path() + "/out/report.html");
    CHECK(html.find("<h2 id=\"strict\">strict</h2>") != std::string::npos);
    CHECK(html.find("<svg") != std::string::npos);
  }

  TEST_CASE("a bad variant is a usage error that names the known overrides") {
    const auto out = run_command(std::string(OPSGATE_BINARY) + " eval --dataset " + OPSGATE_SHARED_DIR +
                                 "/eval/intents-dev.jsonl --variant x=intent.parser=command 2>&1");
    CHECK(out.exit_code == 2);
    CHECK(out.out.find("unknown override 'intent.parser'") != std::string::npos);
  }

  TEST_CASE("parse --jsonl answers the dev set with the built-in parsers") {
    const auto out = run_command(std::string(OPSGATE_BINARY) + " parse --jsonl < " + OPSGATE_SHARED_DIR +
                                 "/eval/intents-dev.jsonl | grep -c '\"action\"'");
    CHECK(out.exit_code == 0);
    CHECK(std::stoi(out.out) >= 60);
  }
}
