// The policy's and the approvals' promises, held by the assembled pipeline:
// the real command parser in a cascade, the real RBAC policy, the real SQLite
// audit log and approval store in one file, and a fake clock (issue #15).

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "policies/rbac_policy.hpp"
#include "src/approval/sqlite_approval_store.hpp"
#include "src/approval/workflow.hpp"
#include "src/audit/audit_reader.hpp"
#include "src/audit/sqlite_audit_log.hpp"
#include "src/core/pipeline.hpp"
#include "src/intent/cascade.hpp"
#include "src/intent/command_parser.hpp"
#include "tests/support/fakes.hpp"
#include "tests/support/process.hpp"

using namespace opsgate;
using opsgate::approval::SqliteApprovalStore;
namespace asio = boost::asio;

namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

// Unix seconds (UTC); Berlin is UTC+1 in November 2026.
constexpr std::int64_t kWednesday = 1795600800;        // 2026-11-25 10:00 UTC
constexpr std::int64_t kFridayBeforeFreeze = 1795791000;  // 2026-11-27 15:50 Berlin
constexpr std::int64_t kFridayInFreeze = 1795792200;      // 2026-11-27 16:10 Berlin
constexpr std::int64_t kSaturday = 1795867200;            // 2026-11-28 13:00 Berlin

// alice (team shop) and bob (SRE) each have two identities; dave is another
// SRE; carol is nobody in particular.
constexpr const char* kPolicy = R"(
people:
  alice: [test:alice, teams:alice]
  bob: [test:bob, teams:bob]
groups:
  shop: {members: [test:alice, teams:alice]}
  sre: {members: [test:bob, teams:bob, test:dave]}
roles:
  operator: {actions: [restart, scale]}
bindings:
  - {subjects: [group:shop, group:sre], roles: [operator]}
rules:
  - id: weekend-freeze
    description: no writes from Friday 16:00 to Monday 08:00
    match: {kinds: [write]}
    window: {from: "Fri 16:00", to: "Mon 08:00", timezone: Europe/Berlin}
    effect: deny
  - id: prod-needs-sre
    description: prod writes need an SRE
    match: {kinds: [write], envs: [prod]}
    effect: require_approval
    approvers: [group:sre]
    quorum: QUORUM
rate_limits:
  - {id: restarts-per-target, actions: [restart], per: target, limit: 5, window: 1h}
)";

// Stands in for a language model that reads the thread's context: "same
// here" repeats the last request it finds there.
class ContextEcho final : public IntentParser {
 public:
  explicit ContextEcho(std::string parser_name) : name_(std::move(parser_name)) {}
  std::string_view name() const override { return name_; }
  ParseResult parse(std::string_view text) const override {
    // "lgtm ID": a vote as a language parser would understand it.
    if (text.rfind("lgtm ", 0) == 0) {
      return vote(std::string(text.substr(5)));
    }
    return ParseResult::none(name_);
  }
  asio::awaitable<ParseResult> parse_async(ParseInput input) const override {
    if (input.text == "same here") {
      for (const auto& turn : input.recent) {
        if (turn.user_text.rfind("approve ", 0) == 0) {
          co_return vote(turn.user_text.substr(8));
        }
      }
    }
    co_return parse(input.text);
  }

 private:
  ParseResult vote(std::string id) const {
    ParseResult r;
    r.kind = ParseKind::request;
    r.parser = name_;
    r.confidence = 0.95;
    r.request = ActionRequest("approve", {{"id", std::move(id)}});
    return r;
  }
  std::string name_;
};

struct Said {
  std::string platform = "test";
  std::string who;
  std::string text;
  std::string channel = "C1";
  std::string thread = "T1";
};

struct Daemon {
  test::TempDir dir;
  asio::io_context io;
  test::FixedClock clock;
  std::shared_ptr<const Inventory> inventory = std::make_shared<Inventory>(
      std::vector<Target>{{"cart", {}, "shop", {}}, {"checkout", {}, "shop", {}}},
      std::vector<Environment>{{"prod", {}}, {"staging", {}}}, "prod");
  std::shared_ptr<const policies::RbacPolicy> policy;
  std::unique_ptr<audit::SqliteAuditLog> audit;
  std::unique_ptr<SqliteApprovalStore> store;
  std::unique_ptr<intent::IntentCascade> parser;
  ActionRegistry actions;
  test::CountingAction* restart = nullptr;
  test::RecordingAdapter test_chat{"test"};
  test::RecordingAdapter teams_chat{"teams"};
  std::unique_ptr<approval::Workflow> workflow;
  std::unique_ptr<Pipeline> pipeline;

  explicit Daemon(std::int64_t at, int quorum = 1, std::string extra_parser = "") {
    clock.at = system_clock::time_point(seconds(at));
    std::string text = kPolicy;
    text.replace(text.find("QUORUM"), 6, std::to_string(quorum));
    policy = policies::load_rbac_policy(ConfigNode::parse(text, "policy.yaml"), inventory);
    audit = std::move(*audit::SqliteAuditLog::open(dir.file("opsgate.db"), clock));
    store = std::move(*SqliteApprovalStore::open(dir.file("opsgate.db")));
    std::vector<std::unique_ptr<IntentParser>> parsers;
    parsers.push_back(std::make_unique<intent::CommandParser>(inventory));
    if (!extra_parser.empty()) {
      parsers.push_back(std::make_unique<ContextEcho>(extra_parser));
    }
    parser = std::make_unique<intent::IntentCascade>(std::move(parsers), inventory, 0.7);
    auto action = std::make_unique<test::CountingAction>("restart", "restarted");
    restart = action.get();
    actions.add(std::move(action));
    workflow = std::make_unique<approval::Workflow>(approval::WorkflowDeps{
        *store, *store, *audit, clock, [this] { return std::shared_ptr<const PolicyEngine>(policy); }, actions});
    PipelineDeps deps{*parser, [this] { return std::shared_ptr<const PolicyEngine>(policy); }, actions, *audit, clock,
                      inventory};
    deps.approvals = workflow.get();
    pipeline = std::make_unique<Pipeline>(deps);
    pipeline->add_adapter(test_chat);
    pipeline->add_adapter(teams_chat);
  }

  void at(std::int64_t unix_s) { clock.at = system_clock::time_point(seconds(unix_s)); }

  // All messages are handled concurrently, as a busy daemon would.
  void say_together(const std::vector<Said>& messages) {
    for (const auto& m : messages) {
      ChatEvent event;
      event.platform = m.platform;
      event.workspace = "W1";
      event.channel = m.channel;
      event.thread = m.thread;
      event.principal.id = m.who;
      event.text = m.text;
      event.addressed = true;
      asio::co_spawn(io, pipeline->on_event(event), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
    }
    io.restart();
    io.run_for(std::chrono::seconds(20));
  }
  void say(const std::string& who, const std::string& text) { say_together({Said{"test", who, text}}); }
  void say_in(const std::string& platform, const std::string& who, const std::string& text,
              const std::string& channel = "C1") {
    say_together({Said{platform, who, text, channel, "T9"}});
  }

  std::string last_approval_id() const {
    for (auto it = test_chat.sent.rbegin(); it != test_chat.sent.rend(); ++it) {
      if (!it->approval_id.empty()) return it->approval_id;
    }
    return "";
  }
  std::string all_text(const test::RecordingAdapter& adapter) const {
    std::string out;
    for (const auto& m : adapter.sent) out += m.text + "\n";
    return out;
  }
  std::vector<AuditEvent> audited(const std::string& kind) {
    audit->close();
    auto events = audit::of_kind_since(dir.file("opsgate.db"), kind, 0);
    REQUIRE(events);
    return *events;
  }
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_SUITE("approval/promises") {
  TEST_CASE("hole 1: a freeze window is judged at the clock's now, not at 1970") {
    Daemon d(kSaturday);
    d.say("test:alice", "!restart cart staging");
    CHECK(d.restart->runs == 0);
    CHECK(contains(d.all_text(d.test_chat), "weekend-freeze"));
    d.at(kWednesday);
    d.say("test:alice", "!restart cart staging");
    CHECK(d.restart->runs == 1);
  }

  TEST_CASE("hole 2: a vote from a language parser is refused, only the exact command counts") {
    Daemon d(kWednesday, 1, "nlu");
    d.say("test:alice", "!restart cart prod");
    const std::string id = d.last_approval_id();
    REQUIRE_FALSE(id.empty());
    d.say("test:bob", "lgtm " + id);
    CHECK(d.restart->runs == 0);
    REQUIRE_FALSE(d.test_chat.sent.empty());
    INFO(d.test_chat.sent.back().text);
    CHECK(contains(d.test_chat.sent.back().text, "approve " + id));
    d.say("test:bob", "approve " + id);
    CHECK(d.restart->runs == 1);
  }

  TEST_CASE("hole 2: a refused vote in the thread never becomes someone else's vote through memory") {
    Daemon d(kWednesday, 1, "llm");
    d.say("test:alice", "!restart cart prod");
    const std::string id = d.last_approval_id();
    REQUIRE_FALSE(id.empty());
    d.say("test:alice", "approve " + id);  // refused: her own request
    CHECK(contains(d.test_chat.sent.back().text, "own request"));
    d.say("test:bob", "same here");
    CHECK(d.restart->runs == 0);
    auto pending = d.store->pending_now(d.clock.now());
    REQUIRE(pending);
    REQUIRE(pending->size() == 1);
    CHECK((*pending)[0].approved_by.empty());
  }

  TEST_CASE("hole 3: one person with two identities is one approver and never approves their own request") {
    Daemon d(kWednesday, 2);
    d.say("test:alice", "!restart cart prod");
    const std::string id = d.last_approval_id();
    REQUIRE_FALSE(id.empty());
    d.say_in("teams", "teams:alice", "approve " + id);
    CHECK(contains(d.all_text(d.teams_chat), "own request"));
    d.say("test:bob", "approve " + id);
    d.say_in("teams", "teams:bob", "approve " + id);
    CHECK(d.restart->runs == 0);
    CHECK(contains(d.teams_chat.sent.back().text, "already voted"));
    d.say("test:dave", "approve " + id);
    CHECK(d.restart->runs == 1);
    bool person_audited = false;
    for (const auto& e : d.audited("approval_vote")) {
      if (e.principal == "teams:bob" && contains(e.detail, "person bob")) person_audited = true;
    }
    CHECK(person_audited);
  }

  TEST_CASE("hole 4: at grant time the request is decided again, a freeze that began meanwhile stops it") {
    Daemon d(kFridayBeforeFreeze);
    d.say("test:alice", "!restart cart prod");
    const std::string id = d.last_approval_id();
    REQUIRE_FALSE(id.empty());
    d.at(kFridayInFreeze);
    d.say("test:bob", "approve " + id);
    CHECK(d.restart->runs == 0);
    CHECK(contains(d.all_text(d.test_chat), "weekend-freeze"));
    auto rechecked = d.audited("approval_rechecked");
    REQUIRE(rechecked.size() == 1);
    CHECK(rechecked[0].outcome == "deny");
  }

  TEST_CASE("hole 5: ten restarts sent together with a limit of five: five run") {
    Daemon d(kWednesday);
    std::vector<Said> burst(10, Said{"test", "test:alice", "!restart cart staging"});
    d.say_together(burst);
    CHECK(d.restart->runs == 5);
    int refused = 0;
    for (const auto& m : d.test_chat.sent) {
      if (contains(m.text, "restarts-per-target")) ++refused;
    }
    CHECK(refused == 5);
  }

  TEST_CASE("hole 5: pending approvals count toward the rate limit") {
    Daemon d(kWednesday);
    for (int i = 0; i < 5; ++i) {
      d.say("test:alice", "!restart cart prod");
    }
    d.say("test:alice", "!restart cart staging");
    CHECK(d.restart->runs == 0);
    CHECK(contains(d.test_chat.sent.back().text, "restarts-per-target"));
  }

  TEST_CASE("hole 8: approvals lists only what the asker may see") {
    Daemon d(kWednesday);
    d.say("test:alice", "!restart cart prod");
    const std::string id = d.last_approval_id();
    d.say("test:carol", "!approvals");
    CHECK_FALSE(contains(d.test_chat.sent.back().text, id));
    d.say("test:bob", "!approvals");
    CHECK(contains(d.test_chat.sent.back().text, id));
    d.say_in("teams", "teams:alice", "!approvals");
    CHECK(contains(d.teams_chat.sent.back().text, id));  // her own, from her other identity
  }

  TEST_CASE("issue 23: a vote cast on another platform is answered where it was cast") {
    Daemon d(kWednesday);
    d.say("test:alice", "!restart cart prod");
    const std::string id = d.last_approval_id();
    d.say_in("teams", "teams:bob", "approve " + id, "bob-dm");
    CHECK(d.restart->runs == 1);
    REQUIRE_FALSE(d.teams_chat.sent.empty());
    CHECK(contains(d.teams_chat.sent.front().text, "counted: 1 of 1"));
    CHECK(contains(d.teams_chat.sent.front().text, "C1"));
    CHECK(d.teams_chat.sent.front().channel == "bob-dm");
    CHECK(contains(d.all_text(d.test_chat), "approved by"));  // the request's own thread
  }
}
