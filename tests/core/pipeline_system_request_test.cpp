// Pipeline::on_system_request: requests opsgate makes itself (an alert's
// triage) are audited and policy-checked like typed ones, run read actions
// only, and reply in the origin's thread.

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "src/core/pipeline.hpp"
#include "tests/support/fakes.hpp"

namespace asio = boost::asio;
using namespace opsgate;

namespace {

class NoParser final : public IntentParser {
 public:
  std::string_view name() const override { return "none"; }
  ParseResult parse(std::string_view) const override { return ParseResult::none("none"); }
};

struct Harness {
  asio::io_context io;
  NoParser parser;
  std::shared_ptr<const PolicyEngine> policy = std::make_shared<test::AliceOnlyPolicy>();
  ActionRegistry actions;
  test::MemoryAuditLog audit;
  test::FixedClock clock;
  std::shared_ptr<const Inventory> inventory = std::make_shared<Inventory>(
      std::vector<Target>{{"cart", {}, "shop", {}}}, std::vector<Environment>{{"prod", {}}}, "prod");
  test::CountingAction* triage = nullptr;
  test::CountingAction* restart = nullptr;
  test::RecordingAdapter adapter;
  std::unique_ptr<Pipeline> pipeline;

  Harness() {
    auto t = std::make_unique<test::CountingAction>("triage", "cart in prod: nothing abnormal");
    triage = t.get();
    actions.add(std::move(t));
    auto r = std::make_unique<test::CountingAction>("restart", "restarted");
    restart = r.get();
    actions.add(std::move(r));
    pipeline = std::make_unique<Pipeline>(
        PipelineDeps{parser, [this] { return policy; }, actions, audit, clock, inventory, std::chrono::seconds(5)});
    pipeline->add_adapter(adapter);
  }

  void run(const std::string& who, ActionRequest request) {
    ChatEvent origin;
    origin.platform = "test";
    origin.channel = "alerts";
    origin.thread = "T42";
    origin.principal.id = who;
    asio::co_spawn(io, pipeline->on_system_request(origin, std::move(request)), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    io.restart();
    io.run_for(std::chrono::seconds(10));
  }
};

}  // namespace

TEST_SUITE("core/pipeline/system") {
  TEST_CASE("an allowed system request runs, is audited at every step and replies in the origin's thread") {
    Harness h;
    h.run("test:alice", ActionRequest("triage", {{"target", "cart"}}));
    CHECK(h.triage->runs == 1);
    CHECK(h.triage->last.params["env"] == "prod");  // validated: the default env filled in
    CHECK(h.audit.kinds() == std::vector<std::string>{"received", "parsed", "decided", "started", "finished", "replied"});
    CHECK(h.audit.events.front().principal == "test:alice");
    CHECK(h.audit.events.front().detail == "system request: triage cart");
    REQUIRE(h.adapter.sent.size() == 1);
    CHECK(h.adapter.sent[0].thread == "T42");
    CHECK(h.adapter.sent[0].channel == "alerts");
    CHECK(h.adapter.sent[0].action == "triage");
  }

  TEST_CASE("the policy decides: a principal it does not grant gets a denial in the thread, nothing runs") {
    Harness h;
    h.run("system:alertmanager", ActionRequest("triage", {{"target", "cart"}}));
    CHECK(h.triage->runs == 0);
    REQUIRE(h.audit.find("decided") != nullptr);
    CHECK(h.audit.find("decided")->outcome == "deny");
    REQUIRE(h.adapter.sent.size() == 1);
    CHECK(h.adapter.sent[0].text.find("grant system:alertmanager the role to run triage") != std::string::npos);
  }

  TEST_CASE("write actions and invalid requests are refused before the policy is asked") {
    Harness h;
    h.run("test:alice", ActionRequest("restart", {{"target", "cart"}, {"env", "prod"}}));
    CHECK(h.restart->runs == 0);
    CHECK(h.audit.find("decided") == nullptr);
    REQUIRE(h.adapter.sent.size() == 1);
    CHECK(h.adapter.sent[0].text.find("only read actions") != std::string::npos);

    h.run("test:alice", ActionRequest("triage", {{"target", "nope"}}));
    CHECK(h.triage->runs == 0);
    REQUIRE(h.adapter.sent.size() == 2);
    CHECK(h.adapter.sent[1].text.rfind("I cannot run", 0) == 0);
  }
}
