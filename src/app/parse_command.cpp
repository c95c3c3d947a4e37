#include "src/app/parse_command.hpp"

#include <cstdio>
#include <iostream>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "src/app/components.hpp"
#include "src/app/eval_command.hpp"

namespace opsgate::app {

int run_parse_command(const Config& config, const ParseCommandOptions& options) {
  if (!options.jsonl && options.texts.empty()) {
    std::fprintf(stderr, "opsgate parse: give the message(s) to parse, or --jsonl to read them from stdin\n");
    return 2;
  }
  boost::asio::io_context io;
  net::HttpClient http;
  ParserSetup setup;
  setup.http = &http;
  const auto parser = build_parser(config, setup);
  auto print = [&](const std::string& text) {
    std::cout << to_json(parse_blocking(io, *parser, text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  };
  if (!options.jsonl) {
    for (const auto& text : options.texts) {
      print(text);
    }
    return 0;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.front() == '{') {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.is_object() && j.contains("text") && j["text"].is_string()) {
        line = j["text"].get<std::string>();
      }
    }
    print(line);
  }
  return 0;
}

}  // namespace opsgate::app
