// Google Benchmark micro-benchmarks of the per-message hot paths: the
// built-in language parser, the command parser, redaction of one log line,
// and one policy decision on a large policy (1,000 rules, 10,000 subjects,
// built by the same generator as policy_bench).

#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench/large_policy.hpp"
#include "src/core/redact.hpp"
#include "src/intent/command_parser.hpp"
#include "src/intent/nlu_parser.hpp"
#include "tests/intent/nlu_test_support.hpp"

using namespace opsgate;

namespace {

const std::vector<std::string>& nlu_messages() {
  static const std::vector<std::string> messages = {
      "what's the error rate of checkout in prod over the last 2 hours?",
      "restart the web frontend in staging",
      "scale payments to 5 replicas in stage",
      "any errors in the cart logs since 30 minutes ago",
      "thanks!",
      "lunch at 12?",
      "roll back inventory in production",
      "how is search doing",
  };
  return messages;
}

void BM_NluParserPerMessage(benchmark::State& state) {
  const intent::NluParser parser(test::nlu_demo_inventory());
  const auto& messages = nlu_messages();
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(parser.parse(messages[i++ % messages.size()]));
  }
}
BENCHMARK(BM_NluParserPerMessage);

void BM_CommandParserPerMessage(benchmark::State& state) {
  const intent::CommandParser parser(test::nlu_demo_inventory());
  const std::vector<std::string> messages = {"!restart cart staging", "/ops scale payments-api env=prod replicas=4",
                                             "!metrics checkout error_rate 1h", "whoami", "not a command at all"};
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(parser.parse(messages[i++ % messages.size()]));
  }
}
BENCHMARK(BM_CommandParserPerMessage);

void BM_RedactPerLine(benchmark::State& state) {
  const std::vector<std::string> lines = {
      "[a0a88dac40b0] slack U123 in C1: what's the error rate of checkout in prod?",
      "connecting to https://svc:hunter2@db.internal:5432/app with token=xoxb-1234-5678-abcdefghijkl",
      "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
      "AKIAIOSFODNN7EXAMPLE used by the deploy job; password=\"s3cret value\"",
  };
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(redact_secrets(lines[i++ % lines.size()]));
  }
}
BENCHMARK(BM_RedactPerLine);

void BM_PolicyDecision(benchmark::State& state) {
  const bench::LargePolicy large = bench::make_large_policy();
  const ActionSpec& restart = *find_action("restart");
  const RequestContext context{"slack", "C1", std::chrono::system_clock::now()};
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(large.policy->evaluate(large.principals[i % large.principals.size()], restart,
                                                    large.requests[i % large.requests.size()], context));
    ++i;
  }
}
BENCHMARK(BM_PolicyDecision);

void BM_PolicyLoad(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(bench::make_large_policy());
  }
}
BENCHMARK(BM_PolicyLoad)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
