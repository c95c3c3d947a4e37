#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "tests/intent/nlu_test_support.hpp"

using namespace opsgate;

namespace {

// Answers every message with the same request, under any parser name.
class FixedParser final : public IntentParser {
 public:
  FixedParser(std::string name, std::string action, double confidence)
      : name_(std::move(name)), action_(std::move(action)), confidence_(confidence) {}
  std::string_view name() const override { return name_; }
  ParseResult parse(std::string_view) const override {
    ParseResult r;
    r.kind = ParseKind::request;
    r.request = {action_, action_ == "approvals.list" ? nlohmann::json::object() : nlohmann::json{{"id", "42"}}};
    r.confidence = confidence_;
    r.parser = name_;
    return r;
  }

 private:
  std::string name_;
  std::string action_;
  double confidence_;
};

ParseResult run(const std::string& parser, const std::string& action, double confidence, const std::string& text) {
  auto inventory = test::nlu_demo_inventory();
  std::vector<std::unique_ptr<IntentParser>> parsers;
  parsers.push_back(std::make_unique<intent::CommandParser>(inventory));
  parsers.push_back(std::make_unique<FixedParser>(parser, action, confidence));
  const intent::IntentCascade cascade(std::move(parsers), inventory, 0.6);
  boost::asio::io_context io;
  std::optional<ParseResult> out;
  ParseInput input;
  input.text = text;
  input.addressed = true;
  boost::asio::co_spawn(io, cascade.parse_async(std::move(input)), [&](std::exception_ptr e, ParseResult r) {
    REQUIRE_FALSE(e);
    out = std::move(r);
  });
  io.run();
  REQUIRE(out);
  return std::move(*out);
}

}  // namespace

TEST_SUITE("intent/cascade") {
  TEST_CASE("approve, deny and cancel from any parser but the command parser become a question") {
    for (const char* parser : {"nlu", "llm"}) {
      for (const char* action : {"approve", "deny", "cancel"}) {
        for (double confidence : {0.95, 0.5}) {
          const auto r = run(parser, action, confidence, "please sort out that thing from earlier");
          CHECK_MESSAGE(r.kind == ParseKind::clarify, parser << " " << action << " " << confidence);
          std::string syntax = "`";
          syntax += action;
          syntax += " 42`";  // the id it read, ready to copy
          CHECK(r.question.find(syntax) != std::string::npos);
        }
      }
    }
  }

  TEST_CASE("the command parser's decisions pass, and other parsers' reads are untouched") {
    const auto approve = run("llm", "approve", 0.95, "approve 42");
    REQUIRE(approve.kind == ParseKind::request);
    CHECK(approve.parser == "command");
    CHECK(approve.request.action == "approve");
    const auto list = run("llm", "approvals.list", 0.95, "what's waiting for me");
    REQUIRE(list.kind == ParseKind::request);
    CHECK(list.request.action == "approvals.list");
  }
}
