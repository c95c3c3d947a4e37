#include <doctest/doctest.h>

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "src/core/action_catalogue.hpp"
#include "src/core/pipeline.hpp"
#include "src/core/text.hpp"
#include "tests/support/fakes.hpp"

namespace asio = boost::asio;
using namespace opsgate;

namespace {

// Understands exactly two messages; enough to drive the pipeline.
class TwoPhraseParser final : public IntentParser {
 public:
  std::string_view name() const override { return "fixed"; }
  ParseResult parse(std::string_view text) const override {
    ParseResult r;
    r.parser = "fixed";
    r.confidence = 1.0;
    if (text == "restart cart staging") {
      r.kind = ParseKind::request;
      r.request = {"restart", {{"target", "cart"}, {"env", "staging"}}};
    } else if (text == "whoami") {
      r.kind = ParseKind::request;
      r.request = {"whoami"};
    } else if (text == "restart cart") {
      r = ParseResult::clarify("fixed", "restart cart in prod or staging?");
    }
    return r;
  }
};

struct Harness {
  asio::io_context io;
  TwoPhraseParser parser;
  std::shared_ptr<const PolicyEngine> policy = std::make_shared<test::AliceOnlyPolicy>();
  ActionRegistry actions;
  test::MemoryAuditLog audit;
  test::FixedClock clock;
  std::shared_ptr<const Inventory> inventory = std::make_shared<Inventory>(
      std::vector<Target>{{"cart", {}, "shop", {}}}, std::vector<Environment>{{"staging", {}}}, "staging");
  test::CountingAction* restart = nullptr;
  test::RecordingAdapter adapter;
  std::unique_ptr<Pipeline> pipeline;

  explicit Harness(std::chrono::seconds timeout = std::chrono::seconds(5),
                   std::string summary = "restarted cart in staging") {
    auto action = std::make_unique<test::CountingAction>("restart", std::move(summary));
    restart = action.get();
    actions.add(std::move(action));
    pipeline = std::make_unique<Pipeline>(
        PipelineDeps{parser, [this] { return policy; }, actions, audit, clock, inventory, timeout});
    pipeline->add_adapter(adapter);
  }

  void say(const std::string& who, const std::string& text, bool addressed = true) {
    Principal principal;
    principal.id = who;
    say_as(std::move(principal), text, addressed);
  }

  void say_as(Principal principal, const std::string& text, bool addressed = true) {
    ChatEvent event;
    event.platform = "test";
    event.channel = "C1";
    event.principal = std::move(principal);
    event.text = text;
    event.addressed = addressed;
    asio::co_spawn(io, pipeline->on_event(event), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    io.restart();
    io.run_for(std::chrono::seconds(10));
  }
};

}  // namespace

TEST_SUITE("core/pipeline") {
  TEST_CASE("whoami names the principal, its display name, its platform groups and the policy's view") {
    Harness h;
    h.say_as(Principal{"test:alice", "Alice", {"test:group:ops", "test:group:web"}}, "whoami");
    h.say("test:alice", "whoami");
    REQUIRE(h.adapter.sent.size() == 2);
    CHECK(h.adapter.sent[0].text ==
          "You are test:alice (Alice), in groups: test:group:ops, test:group:web. In the policy: test policy.");
    CHECK(h.adapter.sent[1].text == "You are test:alice, in no platform groups. In the policy: test policy.");
  }

  TEST_CASE("an allowed request is audited at every step and runs once") {
    Harness h;
    h.say("test:alice", "restart cart staging");
    CHECK(h.restart->runs == 1);
    REQUIRE(h.adapter.sent.size() == 1);
    CHECK(h.adapter.sent[0].text == "restarted cart in staging");
    CHECK(h.audit.kinds() == std::vector<std::string>{"received", "parsed", "decided", "started", "finished", "replied"});
    CHECK(h.audit.events[2].detail == "allowed: rule alice-only [rules: alice-only]");
    const std::string rid = h.audit.events.front().request_id;
    CHECK(rid.size() == 16);  // src/core/request_id.hpp
    for (const auto& e : h.audit.events) {
      CHECK(e.request_id == rid);
      CHECK(e.principal == "test:alice");
    }
    CHECK(h.audit.find("decided")->outcome == "allow");
    CHECK(h.audit.find("started")->params["target"] == "cart");
  }

  TEST_CASE("a long audit detail is cut on a UTF-8 character boundary") {
    // 1,999 bytes of ASCII, then 'é' (2 bytes) across the 2,000-byte limit.
    const std::string summary = std::string(1999, 'a') + "\xC3\xA9" + std::string(100, 'b');
    Harness h(std::chrono::seconds(5), summary);
    h.say("test:alice", "restart cart staging");
    REQUIRE(h.restart->runs == 1);
    const auto finished = std::find_if(h.audit.events.begin(), h.audit.events.end(),
                                       [](const AuditEvent& e) { return e.kind == "finished"; });
    REQUIRE(finished != h.audit.events.end());
    const std::string& detail = finished->detail;
    CHECK(detail == std::string(1999, 'a') + "…");
    CHECK(text::sanitize_utf8(detail, detail.size()) == detail);  // valid UTF-8: nothing replaced
  }

  TEST_CASE("a denied request never starts and says which rule") {
    Harness h;
    h.say("test:mallory", "restart cart staging");
    CHECK(h.restart->runs == 0);
    REQUIRE(h.adapter.sent.size() == 1);
    CHECK(h.adapter.sent[0].text.find("denied: only alice") != std::string::npos);
    CHECK(h.audit.find("started") == nullptr);
    CHECK(h.audit.find("decided")->outcome == "deny");
  }

  TEST_CASE("the action does not run when its started event cannot be written") {
    Harness h;
    h.audit.fail_kind = "started";
    h.say("test:alice", "restart cart staging");
    CHECK(h.restart->runs == 0);
    REQUIRE(h.adapter.sent.size() == 1);
    CHECK(h.adapter.sent[0].text.find("audit log") != std::string::npos);
  }

  TEST_CASE("nothing runs when the audit log is down") {
    Harness h;
    h.audit.fail_kind = "*";
    h.say("test:alice", "restart cart staging");
    CHECK(h.restart->runs == 0);
    REQUIRE(h.adapter.sent.size() == 1);
    CHECK(h.adapter.sent[0].text.find("will not act") != std::string::npos);
  }

  TEST_CASE("chatter is ignored in channels but answered when addressed") {
    Harness h;
    h.say("test:alice", "lunch at 12?", false);
    CHECK(h.adapter.sent.empty());
    h.say("test:alice", "lunch at 12?", true);
    REQUIRE(h.adapter.sent.size() == 1);
    CHECK(h.adapter.sent[0].text.find("did not understand") != std::string::npos);
  }

  TEST_CASE("a clarifying question is sent back and nothing runs") {
    Harness h;
    h.say("test:alice", "restart cart");
    CHECK(h.restart->runs == 0);
    REQUIRE(h.adapter.sent.size() == 1);
    CHECK(h.adapter.sent[0].text == "restart cart in prod or staging?");
    CHECK(h.audit.find("parsed")->outcome == "clarify");
  }

  TEST_CASE("a backend error is reported and audited as finished/error") {
    Harness h;
    h.restart->error = Error{Errc::upstream, "deployment cart not found"};
    h.say("test:alice", "restart cart staging");
    REQUIRE(h.adapter.sent.size() == 1);
    CHECK(h.adapter.sent[0].text.find("deployment cart not found") != std::string::npos);
    CHECK(h.audit.find("finished")->outcome == "error");
  }

  TEST_CASE("an action that outlives its timeout is abandoned with a message") {
    Harness h(std::chrono::seconds(1));
    h.restart->delay = std::chrono::milliseconds(3000);
    h.say("test:alice", "restart cart staging");
    REQUIRE(h.adapter.sent.size() == 1);
    CHECK(h.adapter.sent[0].text.find("did not finish within 1s") != std::string::npos);
    CHECK(h.audit.find("finished")->outcome == "error");
  }
}
