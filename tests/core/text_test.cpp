#include <doctest/doctest.h>

#include "src/core/text.hpp"

#include <string>

using namespace std::string_literals;
namespace text = opsgate::text;

namespace {

// True when no well-formed multi-byte sequence of `whole` is cut by the prefix.
bool splits_nothing(std::string_view whole, std::string_view prefix) {
  if (prefix.size() == whole.size()) {
    return true;
  }
  // The byte after the cut must not continue a sequence whose lead is in the prefix.
  std::size_t lead = prefix.size();
  while (lead > 0 && prefix.size() - lead < 3 && (static_cast<unsigned char>(whole[lead]) & 0xC0) == 0x80) {
    --lead;
  }
  if (lead == prefix.size()) {
    return true;
  }
  const auto c = static_cast<unsigned char>(whole[lead]);
  const std::size_t length = c >= 0xF0 && c < 0xF8 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  return length == 1 || lead + length <= prefix.size();
}

}  // namespace

TEST_SUITE("core/text") {
  TEST_CASE("utf8_prefix never cuts a 2-, 3- or 4-byte character") {
    const std::string two = "a\xC3\xA9";            // "aé": é is 2 bytes
    const std::string three = "a\xE2\x82\xAC";      // "a€": € is 3 bytes
    const std::string four = "a\xF0\x9F\x98\x80";   // "a😀": 4 bytes
    CHECK(text::utf8_prefix(two, 2) == "a");
    CHECK(text::utf8_prefix(two, 3) == two);
    CHECK(text::utf8_prefix(three, 2) == "a");
    CHECK(text::utf8_prefix(three, 3) == "a");
    CHECK(text::utf8_prefix(three, 4) == three);
    CHECK(text::utf8_prefix(four, 2) == "a");
    CHECK(text::utf8_prefix(four, 3) == "a");
    CHECK(text::utf8_prefix(four, 4) == "a");
    CHECK(text::utf8_prefix(four, 5) == four);
    CHECK(text::utf8_prefix(four, 0).empty());
  }

  TEST_CASE("utf8_prefix at every length of mixed text ends on a boundary") {
    const std::string mixed = "x\xC3\xA9y\xE2\x82\xAC\xF0\x9F\x98\x80z\xC3\xA9";
    for (std::size_t limit = 0; limit <= mixed.size() + 1; ++limit) {
      const std::string_view cut = text::utf8_prefix(mixed, limit);
      CAPTURE(limit);
      CHECK(cut.size() <= limit);
      CHECK(mixed.substr(0, cut.size()) == cut);
      CHECK(splits_nothing(mixed, cut));
      CHECK(text::sanitize_utf8(cut, cut.size()) == cut);  // still valid UTF-8
    }
  }

  TEST_CASE("utf8_prefix on invalid input cuts at the limit instead of collapsing") {
    // Stray continuation bytes lead nothing: the cut stays at the limit.
    const std::string stray = "\x80\x80\x80\x80\x80\x80";
    CHECK(text::utf8_prefix(stray, 4).size() == 4);
    // A lead byte followed by too few continuation bytes, then ASCII.
    const std::string short_seq = "ab\xE2\x82zz";
    CHECK(text::utf8_prefix(short_seq, 3) == "ab");
    CHECK(text::utf8_prefix(short_seq, 5) == "ab\xE2\x82z");
    // Bytes that can never lead (0xF8..0xFF) followed by continuation bytes.
    const std::string bad_lead = "a\xFF\x80\x80";
    CHECK(text::utf8_prefix(bad_lead, 3) == "a\xFF\x80");
  }

  TEST_CASE("truncate_utf8 adds the marker only when it cut") {
    CHECK(text::truncate_utf8("hello", 10, "…") == "hello");
    CHECK(text::truncate_utf8("hello", 5, "…") == "hello");
    CHECK(text::truncate_utf8("hello", 4, "…") == "hell…");
    CHECK(text::truncate_utf8("caf\xC3\xA9!", 4, "...") == "caf...");
  }

  TEST_CASE("sanitize_utf8 replaces invalid bytes and keeps within the limit") {
    CHECK(text::sanitize_utf8("ok \xC3\xA9", 100) == "ok \xC3\xA9");
    CHECK(text::sanitize_utf8("a\xFF" "b", 100) == "a\xEF\xBF\xBD" "b");
    CHECK(text::sanitize_utf8("\xC0\xAF", 100) == "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
    CHECK(text::sanitize_utf8("\xED\xA0\x80", 100) == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
    CHECK(text::sanitize_utf8("ab\xE2\x82\xAC", 4) == "ab");
  }

  TEST_CASE("trim removes ASCII white space at both ends only") {
    CHECK(text::trim("  a b \t\r\n") == "a b");
    CHECK(text::trim("") == "");
    CHECK(text::trim(" \t ") == "");
    CHECK(text::trim("x") == "x");
    CHECK(text::trim("\xC2\xA0x") == "\xC2\xA0x");  // NBSP is not ASCII white space
  }

  TEST_CASE("iequals and to_lower fold ASCII only") {
    CHECK(text::iequals("Bearer", "bEARER"));
    CHECK_FALSE(text::iequals("Bearer", "Bearer "));
    CHECK_FALSE(text::iequals("abc", "abd"));
    CHECK(text::iequals("", ""));
    CHECK_FALSE(text::iequals("\xC3\xA9", "\xC3\x89"));  // é vs É: not ASCII
    CHECK(text::to_lower("MiXeD-9\xC3\x89") == "mixed-9\xC3\x89");
  }
}
