#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "policies/rbac_policy.hpp"
#include "src/approval/sqlite_approval_store.hpp"
#include "src/approval/workflow.hpp"
#include "src/core/pipeline.hpp"
#include "tests/support/fakes.hpp"
#include "tests/support/process.hpp"

using namespace opsgate;
using opsgate::approval::SqliteApprovalStore;
namespace asio = boost::asio;

namespace {

// "deploy" asks for rollout.deploy of cart in prod; "approve ID" votes.
class TinyParser final : public IntentParser {
 public:
  std::string_view name() const override { return "tiny"; }
  ParseResult parse(std::string_view text) const override {
    ParseResult r;
    r.parser = "command";  // votes count only from the exact command
    r.confidence = 1.0;
    r.kind = ParseKind::request;
    const std::string t(text);
    if (t == "deploy") {
      r.request = ActionRequest("rollout.deploy", {{"target", "cart"}, {"env", "prod"}, {"version", "3.2.0"}});
    } else if (t.rfind("approve ", 0) == 0) {
      r.request = ActionRequest("approve", {{"id", t.substr(8)}});
    } else {
      return ParseResult::none("tiny");
    }
    return r;
  }
};

// A write whose preview says what the test tells it, and whose follow-up
// reports a rollout outcome.
class PreviewedDeploy final : public Action {
 public:
  const ActionSpec& spec() const override { return *find_action("rollout.deploy"); }
  asio::awaitable<Result<ActionResult>> execute(ActionRequest) override {
    ++runs;
    ActionResult r;
    r.summary = "Deploying 3.2.0 to cart in prod";
    r.data = {{"changed", true}};
    co_return r;
  }
  asio::awaitable<Result<std::optional<ActionPreview>>> preview(ActionRequest) override {
    ++previews;
    ActionPreview p;
    p.text = "would deploy 3.2.0: image " + live_image + " → registry/cart:3.2.0";
    p.fingerprint = R"({"from":")" + live_image + R"("})";
    co_return std::optional<ActionPreview>(p);
  }
  asio::awaitable<std::optional<FollowOutcome>> follow(ActionRequest, ActionResult) override {
    FollowOutcome f;
    f.ok = follow_ok;
    f.summary = follow_ok ? "cart rolled out in 42s in prod (3/3 available)" : "⚠ cart in prod failed to roll out";
    if (!follow_ok) {
      f.suggestions.push_back({"Roll back cart", "!rollback cart prod"});
    }
    co_return std::optional<FollowOutcome>(f);
  }
  std::string live_image = "registry/cart:3.1.0";
  bool follow_ok = true;
  int runs = 0;
  int previews = 0;
};

struct Story {
  test::TempDir dir;
  asio::io_context io;
  TinyParser parser;
  std::shared_ptr<const Inventory> inventory = std::make_shared<Inventory>(
      std::vector<Target>{{"cart", {}, "shop", {}}}, std::vector<Environment>{{"prod", {}}}, "prod");
  std::shared_ptr<const PolicyEngine> policy = policies::load_rbac_policy(ConfigNode::parse(R"(
groups:
  sre: {members: [test:bob]}
  shop: {members: [test:alice]}
roles:
  deployer: {actions: [rollout.deploy, approve]}
bindings:
  - {subjects: [group:sre, group:shop], roles: [deployer]}
rules:
  - id: prod-approval
    description: prod writes need an SRE
    match: {kinds: [write], envs: [prod]}
    effect: require_approval
    approvers: [group:sre]
)", "p.yaml"), inventory);
  ActionRegistry actions;
  test::MemoryAuditLog audit;
  test::FixedClock clock;
  std::unique_ptr<SqliteApprovalStore> store = std::move(*SqliteApprovalStore::open(dir.file("a.db")));
  PreviewedDeploy* deploy = nullptr;
  test::RecordingAdapter adapter;
  std::unique_ptr<approval::Workflow> workflow;
  std::unique_ptr<Pipeline> pipeline;

  Story() {
    auto action = std::make_unique<PreviewedDeploy>();
    deploy = action.get();
    actions.add(std::move(action));
    workflow = std::make_unique<approval::Workflow>(
        approval::WorkflowDeps{*store, *store, audit, clock, [this] { return policy; }, actions});
    PipelineDeps deps{parser, [this] { return policy; }, actions, audit, clock, inventory};
    deps.approvals = workflow.get();
    pipeline = std::make_unique<Pipeline>(deps);
    pipeline->add_adapter(adapter);
  }

  void say(const std::string& who, const std::string& text) {
    ChatEvent event;
    event.platform = "test";
    event.channel = "C1";
    event.principal.id = who;
    event.text = text;
    event.addressed = true;
    asio::co_spawn(io, pipeline->on_event(event), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    io.restart();
    io.run_for(std::chrono::seconds(10));
  }

  std::string approval_id() const {
    for (const auto& m : adapter.sent) {
      if (!m.approval_id.empty()) return m.approval_id;
    }
    return "";
  }

  std::vector<std::string> outcomes(const std::string& kind) const {
    std::vector<std::string> out;
    for (const auto& e : audit.events) {
      if (e.kind == kind) out.push_back(e.outcome);
    }
    return out;
  }
};

}  // namespace

TEST_SUITE("approval/preview") {
  TEST_CASE("the approval request shows the dry run, the vote is bound to it, the rollout is followed") {
    Story s;
    s.say("test:alice", "deploy");
    REQUIRE(s.adapter.sent.size() == 1);
    CHECK(s.adapter.sent[0].text.find("Dry run: would deploy 3.2.0: image registry/cart:3.1.0 → registry/cart:3.2.0") !=
          std::string::npos);
    CHECK(s.outcomes("previewed") == std::vector<std::string>{"ok"});
    const std::string id = s.approval_id();
    REQUIRE_FALSE(id.empty());
    auto pending = s.store->pending_now(s.clock.now());
    REQUIRE(pending);
    REQUIRE(pending->size() == 1);
    CHECK((*pending)[0].preview_fingerprint == R"({"from":"registry/cart:3.1.0"})");

    s.say("test:bob", "approve " + id);
    CHECK(s.deploy->runs == 1);
    CHECK(s.deploy->previews == 2);  // again at quorum
    CHECK(s.outcomes("followed") == std::vector<std::string>{"ok"});
    CHECK(s.adapter.sent.back().text == "cart rolled out in 42s in prod (3/3 available)");
  }

  TEST_CASE("when the live object changed before the quorum, nothing runs and the vote starts over") {
    Story s;
    s.say("test:alice", "deploy");
    const std::string id = s.approval_id();
    s.deploy->live_image = "registry/cart:3.1.5";  // someone deployed meanwhile
    s.say("test:bob", "approve " + id);
    CHECK(s.deploy->runs == 0);
    CHECK(s.outcomes("preview_changed") == std::vector<std::string>{"pending"});
    CHECK(s.adapter.sent.back().approval_id == id);
    CHECK(s.adapter.sent.back().text.find("the vote starts over") != std::string::npos);
    CHECK(s.adapter.sent.back().text.find("image registry/cart:3.1.5 → registry/cart:3.2.0") != std::string::npos);

    // A fresh vote on the refreshed preview runs it.
    s.say("test:bob", "approve " + id);
    CHECK(s.deploy->runs == 1);
  }

  TEST_CASE("a failed rollout is its own audit event with a rollback suggestion") {
    Story s;
    s.deploy->follow_ok = false;
    s.say("test:alice", "deploy");
    s.say("test:bob", "approve " + s.approval_id());
    CHECK(s.deploy->runs == 1);
    CHECK(s.outcomes("followed") == std::vector<std::string>{"error"});
    REQUIRE(s.adapter.sent.back().suggestions.size() == 1);
    CHECK(s.adapter.sent.back().suggestions[0].command == "!rollback cart prod");
  }

  TEST_CASE("an approval store from before previews is migrated in place") {
    test::TempDir dir;
    {
      SQLite::Database db(dir.file("old.db"), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
      db.exec(R"(CREATE TABLE approvals (id TEXT PRIMARY KEY, state TEXT NOT NULL, created_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL, origin_request_id TEXT NOT NULL, requester TEXT NOT NULL, requester_name TEXT,
        platform TEXT, channel TEXT, thread TEXT, action TEXT NOT NULL, params TEXT NOT NULL, break_glass_reason TEXT,
        request_hash TEXT NOT NULL, rule_id TEXT, approvers TEXT NOT NULL, quorum INTEGER NOT NULL, decided_by TEXT,
        reason TEXT, decided_ms INTEGER))");
      db.exec(R"(INSERT INTO approvals VALUES ('abcde', 'pending', 0, 9999999999999, 'r1', 'shell:alice', 'alice',
        'shell', 't', 't', 'restart', '{"env":"prod","target":"cart"}', '', 'x', 'rule', '["group:sre"]', 1, NULL,
        NULL, NULL))");
    }
    auto store = SqliteApprovalStore::open(dir.file("old.db"));
    REQUIRE(store);
    auto pending = (*store)->pending_now(std::chrono::system_clock::time_point{});
    REQUIRE(pending);
    REQUIRE(pending->size() == 1);
    CHECK((*pending)[0].preview_fingerprint.empty());
    // Opening it again does not migrate twice.
    store->reset();
    CHECK(SqliteApprovalStore::open(dir.file("old.db")));
  }
}
