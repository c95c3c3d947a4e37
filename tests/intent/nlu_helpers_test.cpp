#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "src/intent/nlu_fuzzy.hpp"
#include "src/intent/nlu_numbers.hpp"
#include "src/intent/nlu_text.hpp"

using namespace opsgate::intent::nlu;

namespace {

std::optional<std::int64_t> number_of(const std::string& text) {
  std::vector<std::string> words;
  for (const auto& w : split_words(text)) {
    words.push_back(w.norm);
  }
  auto m = match_number(words, 0);
  if (!m || m->words != words.size()) {
    return std::nullopt;
  }
  return m->value;
}

}  // namespace

TEST_SUITE("intent/nlu") {
  TEST_CASE("number words up to 999") {
    CHECK(number_of("three") == 3);
    CHECK(number_of("twelve") == 12);
    CHECK(number_of("twenty-five") == 25);
    CHECK(number_of("twenty five") == 25);
    CHECK(number_of("a dozen") == 12);
    CHECK(number_of("two hundred") == 200);
    CHECK(number_of("three hundred and five") == 305);
    CHECK(number_of("42") == 42);
    CHECK_FALSE(number_of("many"));
    CHECK_FALSE(number_of("1234567890"));  // more than 9 digits is not a count
  }

  TEST_CASE("compact durations and unit words") {
    CHECK(compact_duration("2h") == 7200);
    CHECK(compact_duration("15min") == 900);
    CHECK(compact_duration("2hrs") == 7200);
    CHECK(compact_duration("1h30m") == 5400);
    CHECK(compact_duration("90s") == 90);
    CHECK_FALSE(compact_duration("0m"));
    CHECK_FALSE(compact_duration("h2"));
    CHECK_FALSE(compact_duration("9999999d"));
    CHECK(unit_word_seconds("minutes") == 60);
    CHECK_FALSE(unit_word_seconds("m"));
  }

  TEST_CASE("version literals") {
    for (const char* v : {"v1.9.3", "1.8.0", "2024.11.2", "4.0.0-rc1", "v2", "1.2"}) {
      CHECK_MESSAGE(is_version_literal(v), v);
    }
    for (const char* v : {"", "2", "v", "1.", "1..2", "latest", "1.2.3-", "v1.2.3;rm"}) {
      CHECK_MESSAGE(!is_version_literal(v), v);
    }
  }

  TEST_CASE("edit distance counts a swap of neighbours as one edit") {
    CHECK(edit_distance("checkout", "checkout", 2) == 0);
    CHECK(edit_distance("chekout", "checkout", 2) == 1);
    CHECK(edit_distance("paymnets", "payments", 2) == 1);
    CHECK(edit_distance("abc", "xyz", 1) == 2);  // capped at cap + 1
  }

  TEST_CASE("closest refuses ties, short words and far words") {
    const std::vector<Spelling> s{{"payments-eu", 0}, {"payments-us", 1}, {"checkout", 2}, {"cart", 3}};
    CHECK(closest("chekout", s, 5, 6, 2).owner == 2);
    const auto tie = closest("payments-es", s, 5, 6, 2);
    CHECK(tie.outcome == FuzzyResult::Outcome::tie);
    CHECK(tie.tied == std::vector<int>{0, 1});
    CHECK(closest("cat", s, 5, 6, 2).outcome == FuzzyResult::Outcome::none);    // word too short
    CHECK(closest("carts", s, 5, 6, 2).outcome == FuzzyResult::Outcome::none);  // "cart" too short to fuzz
    CHECK(closest("shipping", s, 5, 6, 2).outcome == FuzzyResult::Outcome::none);
  }

  TEST_CASE("mention markup is removed and entities decoded") {
    CHECK(clean_message("<@U123ABC> hi") == "  hi");
    CHECK(clean_message("<at>opsgate</at> hi") == "  hi");
    CHECK(clean_message("<@!123> &lt;b&gt; &amp;") == "  <b> &");
    CHECK(clean_message("a < b") == "a < b");
    CHECK(clean_message("tab\there") == "tab here");
  }

  TEST_CASE("words keep versions and names whole and resolve apostrophes") {
    const auto w = split_words("What's cart's v1.9.3 on payments-api, #42?");
    REQUIRE(w.size() == 6);
    CHECK(w[0].norm == "whats");
    CHECK(w[1].norm == "cart");
    CHECK(w[2].raw == "v1.9.3");
    CHECK(w[4].norm == "payments-api");
    CHECK(w[5].norm == "42");
    CHECK(w[5].boundary_before);
  }

  TEST_CASE("sanitize_utf8 replaces invalid sequences and cuts on a character boundary") {
    CHECK(opsgate::text::sanitize_utf8("ok\xff", 100) == "ok\xEF\xBF\xBD");
    CHECK(opsgate::text::sanitize_utf8("\xed\xa0\x80", 100) == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
    CHECK(opsgate::text::sanitize_utf8("a\xC3\xA9", 2) == "a");
  }
}
