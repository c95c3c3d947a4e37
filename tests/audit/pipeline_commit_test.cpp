// The pipeline with the real SQLite audit log: when a request's events are
// durable relative to what it does (issue 18). "Durable" is read the way a
// crash would see it: through a second connection to the file, which sees
// committed transactions only.

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "src/core/action_catalogue.hpp"
#include "src/core/pipeline.hpp"
#include "tests/audit/audit_test_support.hpp"
#include "tests/support/fakes.hpp"

namespace asio = boost::asio;
using namespace opsgate;
using opsgate::audit::SqliteAuditLog;

namespace {

class ThreePhraseParser final : public IntentParser {
 public:
  std::string_view name() const override { return "fixed"; }
  ParseResult parse(std::string_view text) const override {
    ParseResult r;
    r.parser = "fixed";
    r.confidence = 1.0;
    if (text == "restart cart staging, noted") {
      r.kind = ParseKind::request;
      r.request = {"restart", {{"target", "cart"}, {"env", "staging"}}};
      r.notice = "(a notice the parser wants shown first)";
    } else if (text == "restart cart staging") {
      r.kind = ParseKind::request;
      r.request = {"restart", {{"target", "cart"}, {"env", "staging"}}};
    } else if (text == "error rate of cart") {
      r.kind = ParseKind::request;
      r.request = {"metrics.query", {{"target", "cart"}, {"env", "staging"}, {"metric", "error_rate"}, {"range_s", 3600}}};
    } else if (text == "whoami") {
      r.kind = ParseKind::request;
      r.request = {"whoami", nlohmann::json::object()};
    }
    return r;
  }
};

// The backend: notes what was durable when it was called.
class SpyAction final : public Action {
 public:
  SpyAction(std::string name, std::string path) : name_(std::move(name)), path_(std::move(path)) {}
  const ActionSpec& spec() const override { return *find_action(name_); }
  asio::awaitable<Result<ActionResult>> execute(ActionRequest) override {
    ++runs;
    durable_at_call = audit::test::stored_column(path_, "kind");
    ActionResult result;
    result.summary = name_ + " done";
    co_return result;
  }
  int runs = 0;
  std::vector<std::string> durable_at_call;

 private:
  std::string name_;
  std::string path_;
};

// The chat platform: notes what was durable, and how many commits had
// happened, when each reply was posted.
class SpyAdapter final : public Adapter {
 public:
  SpyAdapter(std::string path, const SqliteAuditLog& log) : path_(std::move(path)), log_(log) {}
  std::string_view platform() const override { return "test"; }
  asio::awaitable<void> run(EventSink&) override { co_return; }
  asio::awaitable<void> send(OutboundMessage message) override {
    sent.push_back(message.text);
    durable_at_send.push_back(audit::test::stored_column(path_, "kind"));
    commits_at_send.push_back(log_.commits());
    co_return;
  }
  std::vector<std::string> sent;
  std::vector<std::vector<std::string>> durable_at_send;
  std::vector<std::int64_t> commits_at_send;

 private:
  std::string path_;
  const SqliteAuditLog& log_;
};

struct Harness {
  audit::test::TempDir dir;
  std::string path = dir.file("audit.db");
  test::FixedClock clock;
  std::unique_ptr<SqliteAuditLog> log;
  asio::io_context io;
  ThreePhraseParser parser;
  std::shared_ptr<const PolicyEngine> policy = std::make_shared<test::AliceOnlyPolicy>();
  ActionRegistry actions;
  std::shared_ptr<const Inventory> inventory = std::make_shared<Inventory>(
      std::vector<Target>{{"cart", {}, "shop", {}}}, std::vector<Environment>{{"staging", {}}}, "staging");
  SpyAction* restart = nullptr;
  SpyAction* metrics = nullptr;
  std::unique_ptr<SpyAdapter> adapter;
  std::unique_ptr<Pipeline> pipeline;

  Harness() {
    auto opened = SqliteAuditLog::open(path, clock);
    REQUIRE(opened);
    log = std::move(*opened);
    auto restart_action = std::make_unique<SpyAction>("restart", path);
    restart = restart_action.get();
    actions.add(std::move(restart_action));
    auto metrics_action = std::make_unique<SpyAction>("metrics.query", path);
    metrics = metrics_action.get();
    actions.add(std::move(metrics_action));
    adapter = std::make_unique<SpyAdapter>(path, *log);
    pipeline = std::make_unique<Pipeline>(
        PipelineDeps{parser, [this] { return policy; }, actions, *log, clock, inventory, std::chrono::seconds(5)});
    pipeline->add_adapter(*adapter);
  }
  ~Harness() { log->close(); }

  void say(const std::string& text, bool addressed = true) {
    ChatEvent event;
    event.platform = "test";
    event.channel = "C1";
    event.principal.id = "test:alice";
    event.text = text;
    event.addressed = addressed;
    asio::co_spawn(io, pipeline->on_event(event), [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    });
    io.restart();
    io.run_for(std::chrono::seconds(10));
  }
};

using Kinds = std::vector<std::string>;

}  // namespace

TEST_SUITE("audit/pipeline commits") {
  TEST_CASE("a write's started event and everything before it are on disk before its backend is called") {
    Harness h;
    h.say("restart cart staging");
    REQUIRE(h.restart->runs == 1);
    CHECK(h.restart->durable_at_call == Kinds{"received", "parsed", "decided", "started"});
  }

  TEST_CASE("a reply is posted only after the events it reports are on disk") {
    Harness h;
    h.say("restart cart staging");
    REQUIRE(h.adapter->sent.size() == 1);
    CHECK(h.adapter->durable_at_send[0] == Kinds{"received", "parsed", "decided", "started", "finished"});
    h.say("error rate of cart");
    REQUIRE(h.adapter->sent.size() == 2);
    const Kinds& at_read = h.adapter->durable_at_send[1];
    REQUIRE(at_read.size() >= 5);
    CHECK(Kinds(at_read.end() - 5, at_read.end()) == Kinds{"received", "parsed", "decided", "started", "finished"});
  }

  TEST_CASE("a meta request waits for exactly one commit before its reply") {
    Harness h;
    h.say("whoami");
    REQUIRE(h.adapter->sent.size() == 1);
    CHECK(h.adapter->sent[0].find("You are test:alice") != std::string::npos);
    CHECK(h.adapter->commits_at_send[0] == 1);
    CHECK(h.adapter->durable_at_send[0] == Kinds{"received", "parsed", "decided", "finished"});
  }

  TEST_CASE("a read waits for one commit, and its backend is called before anything is written") {
    Harness h;
    h.say("error rate of cart");
    REQUIRE(h.metrics->runs == 1);
    CHECK(h.metrics->durable_at_call.empty());
    REQUIRE(h.adapter->sent.size() == 1);
    CHECK(h.adapter->commits_at_send[0] == 1);
  }

  TEST_CASE("the replied event follows without a commit of its own being waited for") {
    Harness h;
    h.say("whoami");
    h.log->close();  // drains what was queued without waiting
    CHECK(audit::test::stored_column(h.path, "kind") == Kinds{"received", "parsed", "decided", "finished", "replied"});
  }

  TEST_CASE("unaddressed chatter writes nothing and commits nothing") {
    Harness h;
    h.say("lunch at 12?", false);
    CHECK(h.adapter->sent.empty());
    h.log->close();
    CHECK(audit::test::stored_column(h.path, "kind").empty());
    CHECK(h.log->commits() == 0);
  }

  TEST_CASE("when the commit fails the reply says so instead of answering") {
    Harness h;
    h.log->fail_next_commits_for_test(1);
    h.say("whoami");
    REQUIRE(h.adapter->sent.size() == 1);
    CHECK(h.adapter->sent[0].find("will not act") != std::string::npos);
    CHECK(h.adapter->sent[0].find("You are") == std::string::npos);
  }

  TEST_CASE("once a commit of a request fails, nothing later in it runs, even if the log recovers") {
    Harness h;
    h.log->fail_next_commits_for_test(1);  // the commit before the notice fails; the next would succeed
    h.say("restart cart staging, noted");
    CHECK(h.restart->runs == 0);
    REQUIRE(!h.adapter->sent.empty());
    for (const auto& text : h.adapter->sent) {
      CHECK(text.find("audit log") != std::string::npos);
    }
  }

  TEST_CASE("a write does not run when its started event cannot be committed") {
    Harness h;
    h.log->fail_next_commits_for_test(1);
    h.say("restart cart staging");
    CHECK(h.restart->runs == 0);
    REQUIRE(h.adapter->sent.size() == 1);
    CHECK(h.adapter->sent[0].find("audit log") != std::string::npos);
  }
}
