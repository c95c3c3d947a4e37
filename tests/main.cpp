// doctest's main, with one guard: CTest runs each test case as
// `<suite> --test-case=<name>`, and a run whose filter matches nothing would
// pass without testing anything (CTest splits a name with ';' into pieces that
// match nothing). Such a run fails here instead.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <string_view>

namespace {

std::atomic<int> test_cases_started{0};

struct CountingListener final : doctest::IReporter {
  explicit CountingListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++test_cases_started; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

REGISTER_LISTENER("opsgate-count-test-cases", 1, CountingListener);

}  // namespace

int main(int argc, char** argv) {
  bool filtered = false;
  bool query = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    filtered = filtered || arg.starts_with("--test-case=") || arg.starts_with("-tc=");
    query = query || arg.starts_with("--list") || arg.starts_with("-l") || arg.starts_with("--count") ||
            arg == "-h" || arg == "--help" || arg == "-v" || arg == "--version";
  }
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (filtered && !query && test_cases_started == 0) {
    std::fprintf(stderr,
                 "no test case matched the --test-case filter, so nothing was tested. A name with ';' is split by "
                 "CTest into pieces that match nothing: use ',' in test names instead.\n");
    return 1;
  }
  return result;
}
