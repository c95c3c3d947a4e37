// How long the built-in cascade [command, nlu] takes per message, on the
// labelled sets given as arguments (JSON Lines, "text" per line), against the
// demo inventory. Each message is parsed `rounds` times; prints p50, p95, p99
// and max in µs over every parse. Target: under 50 µs per message.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/intent/nlu_test_support.hpp"

using namespace opsgate;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: intent_bench FILE.jsonl... (e.g. tests/eval/intents-test.jsonl)\n");
    return 2;
  }
  std::vector<std::string> texts;
  for (int a = 1; a < argc; ++a) {
    std::ifstream in(argv[a]);
    if (!in) {
      std::fprintf(stderr, "intent_bench: cannot read %s\n", argv[a]);
      return 1;
    }
    std::string line;
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("text") && j["text"].is_string()) {
        texts.push_back(j["text"].get<std::string>());
      }
    }
  }
  // The demo inventory and the production cascade order, shared with the parser tests.
  const intent::IntentCascade cascade = test::nlu_cascade();

  constexpr int kRounds = 50;
  std::vector<double> us;
  us.reserve(texts.size() * kRounds);
  int requests = 0;
  for (int r = 0; r < kRounds; ++r) {
    for (const auto& text : texts) {
      const auto start = std::chrono::steady_clock::now();
      const ParseResult result = cascade.parse(text);
      const auto stop = std::chrono::steady_clock::now();
      us.push_back(std::chrono::duration<double, std::micro>(stop - start).count());
      requests += result.kind == ParseKind::request ? 1 : 0;
    }
  }
  std::sort(us.begin(), us.end());
  auto q = [&us](double p) { return us.empty() ? 0.0 : us[static_cast<std::size_t>(p * static_cast<double>(us.size() - 1))]; };
  std::printf("%zu messages x %d rounds: p50 %.1f us, p95 %.1f us, p99 %.1f us, max %.1f us (%d requests)\n",
              texts.size(), kRounds, q(0.5), q(0.95), q(0.99), us.empty() ? 0.0 : us.back(), requests);
  return 0;
}
