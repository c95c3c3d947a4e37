// LogQL building from chat text: the search text (`contains`), a level and a
// configured selector; the escaped string must stay inside its quotes.
#include <string>

#include "actions/loki/logql.hpp"
#include "fuzz/fuzz_support.hpp"

using namespace opsgate::actions::loki;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [contains, rest] = opsgate::fuzz::split_two(opsgate::fuzz::as_text(data, size));
  const std::string escaped = escape_logql_string(contains);
  // Every " and \ of the text is escaped: an unescaped quote would end the string early.
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] == '\\') {
      ++i;
    } else if (escaped[i] == '"' || static_cast<unsigned char>(escaped[i]) < 0x20) {
      __builtin_trap();
    }
  }
  LogqlSearch search;
  search.selector = "{app=\"cart\",namespace=\"shop-prod\"}";
  search.contains = std::string(contains);
  const std::string level(rest.substr(0, rest.find('\0')));
  search.level = level;
  static constexpr LevelFilter kFilters[] = {LevelFilter::label, LevelFilter::logfmt, LevelFilter::json, LevelFilter::line};
  search.level_filter = kFilters[rest.size() % 4];
  (void)build_lines_query(search);
  (void)build_level_count_query(search, static_cast<std::int64_t>(size) * 60);
  (void)is_label_name(level);
  return 0;
}
