// Deployment gates through the assembled pieces: the real RBAC policy, the
// real SQLite audit log, approval store and gate store in one file, the real
// approval workflow and pipeline (votes typed as commands), a fake clock and
// a recording chat adapter.

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "policies/rbac_policy.hpp"
#include "src/approval/sqlite_approval_store.hpp"
#include "src/approval/workflow.hpp"
#include "src/audit/audit_reader.hpp"
#include "src/audit/sqlite_audit_log.hpp"
#include "src/core/pipeline.hpp"
#include "src/gates/gate_service.hpp"
#include "src/intent/cascade.hpp"
#include "src/intent/command_parser.hpp"
#include "tests/support/fakes.hpp"
#include "tests/support/process.hpp"

using namespace opsgate;
using namespace opsgate::gates;
namespace asio = boost::asio;
using std::chrono::seconds;
using std::chrono::system_clock;

namespace {

constexpr std::int64_t kWednesday = 1795600800;  // 2026-11-25 10:00 UTC

constexpr const char* kPolicy = R"(
people:
  alice: [test:alice]
groups:
  sre: {members: [test:bob, test:dave]}
roles:
  deployer: {actions: [rollout.deploy]}
bindings:
  - {subjects: [ci:jenkins, test:alice], roles: [deployer]}
rules:
  - id: prod-needs-sre
    description: prod deploys need an SRE
    match: {kinds: [write], envs: [prod]}
    effect: require_approval
    approvers: [group:sre]
    expiry: 30m
)";

constexpr const char* kGates = R"(
public_url: https://opsgate.example/
channels:
  default: test:C0OPS
identities:
  alice: test:alice
clients:
  jenkins:
    token: jenkins-token-0123456789abcdef
    targets: [cart]
    envs: [prod, staging]
)";

// Fails `failures` times (retry), then acknowledges; records each attempt.
class FlakyNotifier final : public Notifier {
 public:
  explicit FlakyNotifier(int failures) : failures_(failures) {}
  std::string_view kind() const override { return "flaky"; }
  asio::awaitable<DeliveryOutcome> deliver(Gate gate, nlohmann::json gate_json) override {
    attempts.push_back(gate_json);
    (void)gate;
    if (static_cast<int>(attempts.size()) <= failures_) {
      co_return DeliveryOutcome{DeliveryOutcome::Kind::retry, "HTTP 503", {}};
    }
    co_return DeliveryOutcome{DeliveryOutcome::Kind::done, "HTTP 204", {}};
  }
  std::vector<nlohmann::json> attempts;

 private:
  int failures_;
};

struct Daemon {
  test::TempDir& dir;
  asio::io_context io;
  test::FixedClock clock;
  std::shared_ptr<const Inventory> inventory = std::make_shared<Inventory>(
      std::vector<Target>{{"cart", {}, "shop", {}}, {"checkout", {}, "shop", {}}},
      std::vector<Environment>{{"prod", {"production"}}, {"staging", {}}}, "prod");
  std::shared_ptr<const policies::RbacPolicy> policy;
  std::unique_ptr<audit::SqliteAuditLog> audit;
  std::unique_ptr<approval::SqliteApprovalStore> store;
  std::unique_ptr<GateStore> gate_store;
  std::unique_ptr<intent::IntentCascade> parser;
  ActionRegistry actions;
  test::CountingAction* deploy = nullptr;
  test::RecordingAdapter chat{"test"};
  std::unique_ptr<approval::Workflow> workflow;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<GateService> gates;
  FlakyNotifier* notifier = nullptr;

  Daemon(test::TempDir& d, std::int64_t at, int failures = 0) : dir(d) {
    clock.at = system_clock::time_point(seconds(at));
    policy = policies::load_rbac_policy(ConfigNode::parse(kPolicy, "policy.yaml"), inventory);
    audit = std::move(*audit::SqliteAuditLog::open(dir.file("opsgate.db"), clock));
    store = std::move(*approval::SqliteApprovalStore::open(dir.file("opsgate.db")));
    gate_store = std::move(*GateStore::open(dir.file("opsgate.db")));
    std::vector<std::unique_ptr<IntentParser>> parsers;
    parsers.push_back(std::make_unique<intent::CommandParser>(inventory));
    parser = std::make_unique<intent::IntentCascade>(std::move(parsers), inventory, 0.7);
    auto action = std::make_unique<test::CountingAction>("rollout.deploy", "deployed");
    deploy = action.get();
    actions.add(std::move(action));
    actions.add(std::make_unique<test::CountingAction>("rollout.status", "cart in prod: 3 of 3 ready, version 3.1.9"));
    actions.add(std::make_unique<test::CountingAction>("metrics.query", "cart in prod: 0.4 % over the last 5m"));
    auto current = [this] { return std::shared_ptr<const PolicyEngine>(policy); };
    workflow = std::make_unique<approval::Workflow>(
        approval::WorkflowDeps{*store, *store, *audit, clock, current, actions});
    PipelineDeps deps{*parser, current, actions, *audit, clock, inventory};
    deps.approvals = workflow.get();
    pipeline = std::make_unique<Pipeline>(deps);
    pipeline->add_adapter(chat);
    gates = std::make_unique<GateService>(
        parse_gates_config(ConfigNode::parse(kGates, "gates.yaml"), *inventory),
        GateServiceDeps{*gate_store, *store, *store, *audit, clock, current, inventory, actions,
                        [this](std::string_view platform) -> Adapter* { return platform == "test" ? &chat : nullptr; },
                        [this] { return pipeline->expire_approvals(); },
                        [] { return 1.0; }},  // the top of each backoff range: 1 s, 2 s, 4 s…
        io.get_executor());
    auto flaky = std::make_unique<FlakyNotifier>(failures);
    notifier = flaky.get();
    gates->add_notifier(std::move(flaky));
    pipeline->set_approval_owner(gates.get());
  }

  template <class T>
  T run(asio::awaitable<T> task) {
    std::optional<T> out;
    asio::co_spawn(io, std::move(task), [&out](std::exception_ptr e, T value) {
      if (e) std::rethrow_exception(e);
      out = std::move(value);
    });
    io.restart();
    io.run_for(std::chrono::seconds(20));
    REQUIRE(out);
    return std::move(*out);
  }
  void run_void(asio::awaitable<void> task) {
    bool done = false;
    asio::co_spawn(io, std::move(task), [&done](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
      done = true;
    });
    io.restart();
    io.run_for(std::chrono::seconds(20));
    REQUIRE(done);
  }

  Result<Created> ask(GateRequest request, std::string key, std::string callback = "flaky") {
    GateAsk a;
    a.client = "jenkins";
    a.source = "api";
    a.dedup_key = std::move(key);
    a.request = std::move(request);
    a.callback_kind = std::move(callback);
    return run(gates->create(std::move(a)));
  }
  void tick() { run_void(gates->tick()); }
  void say(const std::string& who, const std::string& text, const std::string& thread) {
    ChatEvent event;
    event.platform = "test";
    event.workspace = "W1";
    event.channel = "C0OPS";
    event.thread = thread;
    event.principal.id = who;
    event.text = text;
    event.addressed = true;
    run_void(pipeline->on_event(event));
  }
  Gate gate(const std::string& id) { return *run(gates->get(id)); }
  std::string said() const {
    std::string out;
    for (const auto& m : chat.sent) out += m.text + "\n";
    return out;
  }
  void at(std::int64_t unix_s) { clock.at = system_clock::time_point(seconds(unix_s)); }
};

GateRequest cart(const std::string& env = "prod") {
  GateRequest r;
  r.target = "cart";
  r.env = env;
  r.version = "3.2.0";
  r.commit = "47efb7196c2a1a2fd3f52f2c59f0e2dd3d0e4d54";
  r.run_url = "https://ci.example/job/shop/1234";
  r.triggered_by = "alice";
  return r;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_SUITE("gates/service") {
  TEST_CASE("prod: posted with its context, the CI client and the triggering person cannot approve, an SRE's vote approves, nothing is deployed by opsgate") {
    test::TempDir dir;
    Daemon d(dir, kWednesday);
    auto created = d.ask(cart(), "run-1");
    REQUIRE(created);
    CHECK(created->created);
    const Gate gate = created->gate;
    CHECK(gate.state == GateState::pending);
    CHECK(gate.requester == "ci:jenkins");
    CHECK(gate.triggered_principal == "test:alice");
    CHECK(gate.expires_ms - gate.created_ms == 30 * 60 * 1000);  // the rule's expiry

    d.tick();  // announce
    REQUIRE(d.chat.sent.size() == 1);
    const OutboundMessage card = d.chat.sent.front();
    CHECK(card.channel == "C0OPS");
    CHECK_FALSE(card.approval_id.empty());
    CHECK(contains(card.text, "deploy cart 3.2.0 to prod"));
    CHECK(contains(card.text, "47efb7196c2a"));
    CHECK(contains(card.text, "https://ci.example/job/shop/1234"));
    CHECK(contains(card.text, "triggered by alice"));
    CHECK(contains(card.text, "Running now: cart in prod: 3 of 3 ready"));
    CHECK(contains(card.text, "Now in prod: cart in prod: 0.4 % over the last 5m; cart in prod: 0.4 %"));
    CHECK(contains(card.text, "ci:jenkins and test:alice cannot approve it"));
    const Gate posted = d.gate(gate.id);
    CHECK(posted.approval_id == card.approval_id);
    CHECK(posted.thread == "C0OPS");  // the recording adapter's thread is the channel

    // alice triggered the run: she counts as a requester.
    d.say("test:alice", "approve " + card.approval_id, posted.thread);
    CHECK(contains(d.said(), "you triggered it"));
    CHECK(d.gate(gate.id).state == GateState::pending);
    // carol is no approver.
    d.say("test:carol", "approve " + card.approval_id, posted.thread);
    CHECK(d.gate(gate.id).state == GateState::pending);

    d.say("test:bob", "approve " + card.approval_id, posted.thread);
    const Gate approved = d.gate(gate.id);
    CHECK(approved.state == GateState::approved);
    CHECK(approved.decided_by == "test:bob");
    CHECK(contains(approved.comment, "Approved by test:bob via opsgate (" + gate.id + ")"));
    CHECK(d.deploy->runs == 0);  // the pipeline deploys, not opsgate
    CHECK(contains(d.said(), "Gate " + gate.id + " approved by test:bob: the pipeline may deploy cart 3.2.0 to prod"));
    CHECK_FALSE(contains(d.said(), "running"));

    // The callback goes out on the next pass.
    d.tick();
    REQUIRE(d.notifier->attempts.size() == 1);
    CHECK(d.notifier->attempts[0]["state"] == "approved");
    CHECK(d.notifier->attempts[0]["approvals"] == nlohmann::json::array({"test:bob"}));
    CHECK(d.run(d.gate_store->delivery_states(gate.id))->front() == "done");

    d.audit->close();
    auto events = audit::of_kind_since(dir.file("opsgate.db"), "approval_vote", 0);
    REQUIRE(events);
    CHECK(events->size() == 3);
    auto decided = audit::of_kind_since(dir.file("opsgate.db"), "gate_decided", 0);
    REQUIRE(decided);
    REQUIRE(decided->size() == 1);
    CHECK(decided->front().outcome == "approved");
    CHECK(decided->front().request_id == gate.id);
  }

  TEST_CASE("the same run asking twice gets the same gate, the same key with another request is a conflict") {
    test::TempDir dir;
    Daemon d(dir, kWednesday);
    auto first = d.ask(cart(), "run-7");
    auto again = d.ask(cart(), "run-7");
    REQUIRE(first);
    REQUIRE(again);
    CHECK_FALSE(again->created);
    CHECK(again->gate.id == first->gate.id);
    GateRequest other = cart();
    other.version = "3.2.1";
    auto conflict = d.ask(other, "run-7");
    REQUIRE_FALSE(conflict);
    CHECK(conflict.error().code == Errc::conflict);
    d.tick();
    CHECK(d.chat.sent.size() == 1);  // one card
  }

  TEST_CASE("the policy decides without a vote where it says so: staging is approved at once, an unknown client is rejected") {
    test::TempDir dir;
    Daemon d(dir, kWednesday);
    auto staging = d.ask(cart("staging"), "run-s");
    REQUIRE(staging);
    CHECK(staging->gate.state == GateState::approved);
    CHECK(staging->gate.decided_by == "policy");
    GateAsk other;
    other.client = "buildkite";  // no binding: denied
    other.source = "api";
    other.dedup_key = "b-1";
    other.request = cart();
    other.callback_kind = "flaky";
    auto denied = d.run(d.gates->create(other));
    REQUIRE(denied);
    CHECK(denied->gate.state == GateState::rejected);
    CHECK(contains(denied->gate.comment, "Rejected by policy"));
    d.tick();
    CHECK(d.chat.sent.empty());  // nothing to vote on
    CHECK(d.notifier->attempts.size() == 2);
  }

  TEST_CASE("unknown target, env or triggering person: refused, nothing invented") {
    test::TempDir dir;
    Daemon d(dir, kWednesday);
    GateRequest r = cart();
    r.target = "carts";
    auto bad_target = d.ask(r, "x1");
    REQUIRE_FALSE(bad_target);
    CHECK(contains(bad_target.error().message, "unknown target 'carts'"));
    r = cart();
    r.env = "qa";
    CHECK_FALSE(d.ask(r, "x2"));
    r = cart();
    r.triggered_by = "mallory";
    auto unlinked = d.ask(r, "x3");
    REQUIRE_FALSE(unlinked);
    CHECK(contains(unlinked.error().message, "gates.identities"));
    r = cart("production");  // a synonym is the environment itself
    auto synonym = d.ask(r, "x4");
    REQUIRE(synonym);
    CHECK(synonym->gate.request.env == "prod");
  }

  TEST_CASE("expiry: nobody votes within the rule's expiry (or a shorter timeout), the gate expires, the thread and the pipeline are told") {
    test::TempDir dir;
    Daemon d(dir, kWednesday);
    GateRequest r = cart();
    r.timeout_s = 600;  // shortens the rule's 30 minutes
    auto created = d.ask(r, "run-e");
    REQUIRE(created);
    CHECK(created->gate.expires_ms - created->gate.created_ms == 600 * 1000);
    d.tick();
    d.at(kWednesday + 599);
    d.tick();
    CHECK(d.gate(created->gate.id).state == GateState::pending);
    d.at(kWednesday + 601);
    d.tick();
    const Gate expired = d.gate(created->gate.id);
    CHECK(expired.state == GateState::expired);
    CHECK(expired.comment == "Expired: no approval within 10 min (opsgate " + expired.id + ")");
    CHECK(contains(d.said(), "expired: no approval within 10 min"));
    d.tick();
    REQUIRE_FALSE(d.notifier->attempts.empty());
    CHECK(d.notifier->attempts.back()["state"] == "expired");
    // A late vote changes nothing.
    d.say("test:bob", "approve " + expired.approval_id, expired.thread);
    CHECK(d.gate(expired.id).state == GateState::expired);
  }

  TEST_CASE("a callback is retried with backoff until acknowledged, and a restart in the middle loses nothing") {
    test::TempDir dir;
    std::string id;
    {
      Daemon d(dir, kWednesday, 2);
      auto created = d.ask(cart("staging"), "run-r");  // approved at once
      REQUIRE(created);
      id = created->gate.id;
      d.tick();
      CHECK(d.notifier->attempts.size() == 1);  // failed: retry in 1 s
      d.tick();
      CHECK(d.notifier->attempts.size() == 1);  // not due yet
      d.at(kWednesday + 1);
      d.tick();
      CHECK(d.notifier->attempts.size() == 2);  // failed again: retry in 2 s
      d.at(kWednesday + 2);
      d.tick();
      CHECK(d.notifier->attempts.size() == 2);
    }
    // opsgate restarts: the outbox is in the database.
    Daemon after(dir, kWednesday + 3, 0);
    after.tick();
    REQUIRE(after.notifier->attempts.size() == 1);
    CHECK(after.notifier->attempts[0]["id"] == id);
    CHECK(after.notifier->attempts[0]["state"] == "approved");
    auto states = after.run(after.gate_store->delivery_states(id));
    REQUIRE(states);
    CHECK(*states == std::vector<std::string>{"done"});
    after.tick();
    CHECK(after.notifier->attempts.size() == 1);  // acknowledged: never again
  }

  TEST_CASE("a vote reached while the gate service was not told (crash between vote and gate update) is found by the next pass") {
    test::TempDir dir;
    Daemon d(dir, kWednesday);
    auto created = d.ask(cart(), "run-c");
    REQUIRE(created);
    d.tick();
    const Gate posted = d.gate(created->gate.id);
    // The vote lands in the approval store directly, as if the process died before decided().
    d.pipeline->set_approval_owner(nullptr);
    Principal bob{"test:bob", "bob", {}};
    auto vote = d.store->vote_now(posted.approval_id, bob, true, "", *d.policy, d.clock.now());
    REQUIRE(vote);
    CHECK(vote->result == VoteResult::granted);
    d.tick();
    CHECK(d.gate(posted.id).state == GateState::approved);
    CHECK(d.deploy->runs == 0);
  }

  TEST_CASE("the pipeline cancels: the approval is cancelled too and the thread is told, a decided gate cannot be cancelled") {
    test::TempDir dir;
    Daemon d(dir, kWednesday);
    auto created = d.ask(cart(), "run-x");
    REQUIRE(created);
    d.tick();
    auto cancelled = d.run(d.gates->cancel(created->gate.id));
    REQUIRE(cancelled);
    CHECK(cancelled->state == GateState::cancelled);
    CHECK(contains(d.said(), "was cancelled by the pipeline"));
    d.say("test:bob", "approve " + cancelled->approval_id, cancelled->thread);
    CHECK(contains(d.said(), "already cancelled"));
    auto again = d.run(d.gates->cancel(created->gate.id));
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Errc::conflict);
  }
}
