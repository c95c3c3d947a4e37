#include <doctest/doctest.h>

#include <fstream>

#include "src/intent/eval.hpp"
#include "tests/intent/nlu_test_support.hpp"

using namespace opsgate;

namespace {

intent::EvalReport score_file(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), path << " is missing");
  const auto cascade = test::nlu_cascade();
  return intent::evaluate(cascade, in);
}

}  // namespace

TEST_SUITE("intent/nlu") {
  TEST_CASE("the cascade [command, nlu] gets at least 95% of the development set exactly right") {
    std::ifstream in(OPSGATE_SHARED_DIR "/eval/intents-dev.jsonl");
    REQUIRE_MESSAGE(in.good(), "../shared/eval/intents-dev.jsonl is missing");
    const auto cascade = test::nlu_cascade();
    const intent::EvalReport report = intent::evaluate(cascade, in);
    INFO(intent::format_report(report));
    CHECK(report.invalid_lines.empty());
    CHECK(report.total >= 60);
    CHECK(report.accuracy() >= 0.95);
  }

  TEST_CASE("the cascade [command, nlu] gets at least 85% of the held-out set exactly right") {
    std::ifstream in(OPSGATE_SOURCE_DIR "/tests/intent/data/intents-heldout.jsonl");
    REQUIRE_MESSAGE(in.good(), "tests/intent/data/intents-heldout.jsonl is missing");
    const auto cascade = test::nlu_cascade();
    const intent::EvalReport report = intent::evaluate(cascade, in);
    INFO(intent::format_report(report));
    CHECK(report.invalid_lines.empty());
    CHECK(report.total >= 80);
    CHECK(report.accuracy() >= 0.85);
  }

  // Written after the first run, before any change it could suggest; its
  // first score (55/60) is the honest one, it has informed three fixes since.
  TEST_CASE("the cascade [command, nlu] gets at least 85% of the second held-out set exactly right") {
    std::ifstream in(OPSGATE_SOURCE_DIR "/tests/intent/data/intents-blind.jsonl");
    REQUIRE_MESSAGE(in.good(), "tests/intent/data/intents-blind.jsonl is missing");
    const auto cascade = test::nlu_cascade();
    const intent::EvalReport report = intent::evaluate(cascade, in);
    INFO(intent::format_report(report));
    CHECK(report.invalid_lines.empty());
    CHECK(report.total >= 60);
    CHECK(report.accuracy() >= 0.85);
  }

  // Issue #19. The development sets (the shared 60 lines and tests/eval's
  // own) are what the parser is tuned on; the test set was written and
  // committed before the parser changed and is never tuned on. Both count
  // writes the label did not ask for, and allow none.
  TEST_CASE("development sets: at least 98% exact and no write that was not asked for") {
    for (const std::string& path : {std::string(OPSGATE_SHARED_DIR "/eval/intents-dev.jsonl"),
                                   std::string(OPSGATE_SOURCE_DIR "/tests/eval/intents-dev2.jsonl")}) {
      const intent::EvalReport report = score_file(path);
      INFO(path << "\n" << intent::format_report(report));
      CHECK(report.invalid_lines.empty());
      CHECK(report.accuracy() >= 0.98);
      CHECK(report.unasked_writes == 0);
    }
  }

  TEST_CASE("test set (never tuned on): at least 95% exact and no write that was not asked for") {
    const intent::EvalReport report = score_file(OPSGATE_SOURCE_DIR "/tests/eval/intents-test.jsonl");
    INFO(intent::format_report(report));
    CHECK(report.invalid_lines.empty());
    CHECK(report.total >= 130);
    CHECK(report.accuracy() >= 0.95);
    CHECK(report.unasked_writes == 0);
  }

  TEST_CASE("older held-out sets: no write that was not asked for") {
    for (const char* name : {"intents-heldout.jsonl", "intents-blind.jsonl"}) {
      const intent::EvalReport report = score_file(std::string(OPSGATE_SOURCE_DIR "/tests/intent/data/") + name);
      INFO(name << "\n" << intent::format_report(report));
      CHECK(report.unasked_writes == 0);
    }
  }
}
