#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "src/core/action_catalogue.hpp"
#include "src/core/pipeline.hpp"
#include "tests/support/fakes.hpp"

namespace asio = boost::asio;
using namespace opsgate;

namespace {

// Answers on the async path the way the LLM cascade does: with call metadata,
// and it records what context it was given.
class ModelLikeParser final : public IntentParser {
 public:
  std::string_view name() const override { return "model"; }
  ParseResult parse(std::string_view) const override { return ParseResult::none("model"); }
  asio::awaitable<ParseResult> parse_async(ParseInput input) const override {
    inputs.push_back(input);
    ParseResult r;
    r.parser = "llm";
    r.confidence = 0.8;
    r.team = "shop";
    LlmCall call;
    call.connection = "openai";
    call.model = "gpt-4o-mini";
    call.prompt_version = "sha256:0123456789ab";
    call.tokens_in = 412;
    call.tokens_out = 23;
    call.latency_ms = 812;
    call.cost_usd = 0.0000756;
    r.llm = call;
    if (input.text == "bounce cart on staging") {
      r.kind = ParseKind::request;
      r.request = {"restart", {{"target", "cart"}, {"env", "staging"}}};
    } else if (input.text == "over budget") {
      r.llm.reset();
      r.degraded = "over_budget";
      r.notice = "Team shop has used its language-model budget for today.";
    }
    co_return r;
  }
  mutable std::vector<ParseInput> inputs;
};

struct Harness {
  asio::io_context io;
  ModelLikeParser parser;
  std::shared_ptr<const PolicyEngine> policy = std::make_shared<test::AliceOnlyPolicy>();
  ActionRegistry actions;
  test::MemoryAuditLog audit;
  test::FixedClock clock;
  std::shared_ptr<const Inventory> inventory = std::make_shared<Inventory>(
      std::vector<Target>{{"cart", {}, "shop", {}}}, std::vector<Environment>{{"staging", {}}}, "staging");
  test::RecordingAdapter adapter;
  std::unique_ptr<Pipeline> pipeline;

  Harness() {
    actions.add(std::make_unique<test::CountingAction>("restart", "restarted cart in staging"));
    PipelineDeps deps{parser, [this] { return policy; }, actions, audit, clock, inventory, std::chrono::seconds(5)};
    deps.conversation.turns = 2;
    pipeline = std::make_unique<Pipeline>(std::move(deps));
    pipeline->add_adapter(adapter);
  }

  void say(const std::string& text, const std::string& thread = "T1") {
    ChatEvent event;
    event.platform = "test";
    event.channel = "C1";
    event.thread = thread;
    event.principal.id = "test:alice";
    event.principal.groups = {"test:group:shop"};
    event.text = text;
    event.addressed = true;
    asio::co_spawn(io, pipeline->on_event(event), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    io.restart();
    io.run_for(std::chrono::seconds(10));
  }
};

}  // namespace

TEST_SUITE("core/pipeline with a language model") {
  TEST_CASE("the parsed event records connection, model, prompt version, tokens, latency and cost") {
    Harness h;
    h.say("bounce cart on staging");
    const AuditEvent* parsed = h.audit.find("parsed");
    REQUIRE(parsed != nullptr);
    CHECK(parsed->outcome == "request");
    CHECK(parsed->detail.find("parser=llm confidence=0.80 llm.connection=openai llm.model=gpt-4o-mini "
                              "llm.prompt=sha256:0123456789ab llm.tokens_in=412 llm.tokens_out=23 "
                              "llm.latency_ms=812 llm.cost_usd=0.000076") != std::string::npos);
    CHECK(parsed->detail.find("team=shop") != std::string::npos);
    REQUIRE(h.parser.inputs.size() == 1);
    CHECK(h.parser.inputs[0].principal == "test:alice");
    CHECK(h.parser.inputs[0].groups == std::vector<std::string>{"test:group:shop"});
    CHECK(h.parser.inputs[0].channel == "C1");
    CHECK(h.parser.inputs[0].addressed);
  }

  TEST_CASE("recent turns of the same thread, bounded, go to the parser, other threads do not mix") {
    Harness h;
    h.say("bounce cart on staging");
    h.say("hello there");  // none: not remembered
    h.say("bounce cart on staging");
    h.say("bounce cart on staging");
    h.say("and again?");
    h.say("and again?", "T2");
    REQUIRE(h.parser.inputs.size() == 6);
    CHECK(h.parser.inputs[0].recent.empty());
    CHECK(h.parser.inputs[2].recent.size() == 1);
    const auto& recent = h.parser.inputs[4].recent;
    REQUIRE(recent.size() == 2);  // deps.conversation.turns
    CHECK(recent[1].user_text == "bounce cart on staging");
    CHECK(recent[1].understood == "restart cart in staging");
    CHECK(h.parser.inputs[5].recent.empty());
  }

  TEST_CASE("a budget notice is sent before the answer and the reason is audited") {
    Harness h;
    h.say("over budget");
    REQUIRE(h.adapter.sent.size() == 2);
    CHECK(h.adapter.sent[0].text.find("budget") != std::string::npos);
    CHECK(h.adapter.sent[1].text.find("did not understand") != std::string::npos);
    CHECK(h.audit.find("parsed")->detail.find("degraded=over_budget") != std::string::npos);
  }
}
