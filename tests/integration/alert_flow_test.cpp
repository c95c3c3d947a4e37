// POST /alertmanager through the assembled pipeline (AlertWebhook, Pipeline,
// the SQLite audit log): a flapping group goes back to its thread within
// repeat_interval, triaged once; and the alert as received is in the audit
// log, where `opsgate audit show` finds it.

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "src/alertmanager/alert_webhook.hpp"
#include "src/audit/audit_reader.hpp"
#include "src/audit/sqlite_audit_log.hpp"
#include "src/core/pipeline.hpp"
#include "src/store/sqlite_store.hpp"
#include "tests/support/fakes.hpp"
#include "tests/support/process.hpp"
#include "tests/support/system_fakes.hpp"

namespace asio = boost::asio;
using namespace opsgate;
using nlohmann::json;

namespace {

constexpr const char* kToken = "alert-flow-token-0123456789";

class NoParser final : public IntentParser {
 public:
  std::string_view name() const override { return "none"; }
  ParseResult parse(std::string_view) const override { return {}; }
};

struct Flow {
  test::TempDir dir;
  test::FixedClock clock;
  std::shared_ptr<const Inventory> inventory = std::make_shared<Inventory>(
      std::vector<Target>{{"checkout", {}, "shop", {{"prod", TargetPlacement{"shop-prod", "checkout", "", ""}}}}},
      std::vector<Environment>{{"prod", {}}}, "prod");
  NoParser parser;
  std::shared_ptr<const PolicyEngine> policy = std::make_shared<test::AllowAllPolicy>();
  ActionRegistry actions;
  test::CountingAction* triage = nullptr;
  std::shared_ptr<store::SqliteStore> database;
  std::unique_ptr<audit::SqliteAuditLog> audit;
  test::ThreadingAdapter adapter;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<alertmanager::AlertWebhook> webhook;
  asio::io_context io;

  Flow() {
    auto action = std::make_unique<test::CountingAction>("triage", "triage: checkout error rate 14% (was 0.5%)");
    triage = action.get();
    actions.add(std::move(action));
    auto store = store::SqliteStore::open(dir.file("opsgate.db"));
    REQUIRE(store);
    database = std::move(*store);
    auto opened = audit::SqliteAuditLog::attach(database, clock);
    REQUIRE(opened);
    audit = std::move(*opened);
    pipeline = std::make_unique<Pipeline>(
        PipelineDeps{parser, [this] { return policy; }, actions, *audit, clock, inventory, std::chrono::seconds(5)});
    pipeline->add_adapter(adapter);
    alertmanager::AlertWebhookConfig config;
    config.token = Secret(kToken, "test");
    config.channels.default_channel = ChannelRef{"test", "alerts"};
    webhook = std::make_unique<alertmanager::AlertWebhook>(
        config, inventory, alertmanager::make_sqlite_alert_thread_store(database),
        [this](std::string_view p) -> Adapter* { return p == "test" ? &adapter : nullptr; },
        [this](ChatEvent origin, ActionRequest request) {
          return pipeline->on_system_request(std::move(origin), std::move(request));
        },
        *audit, clock);
  }

  json post(const std::string& status) {
    json alert = {{"status", status},
                  {"labels", {{"alertname", "HighErrorRate"}, {"service", "checkout"}, {"env", "prod"},
                              {"severity", "page"}}},
                  {"annotations", {{"summary", "checkout error rate above 5%"},
                                   {"runbook", "https://runbooks.example/checkout?token=hunter2hunter2"}}},
                  {"startsAt", "2026-01-01T00:00:00Z"},
                  {"endsAt", status == "resolved" ? "2026-01-01T00:20:00Z" : "0001-01-01T00:00:00Z"},
                  {"generatorURL", "http://prometheus:9090/graph?g0.expr=rate"},
                  {"fingerprint", "a1b2c3d4e5f60718"}};
    json payload = {{"version", "4"}, {"groupKey", "{}:{alertname=\"HighErrorRate\"}"}, {"status", status},
                    {"receiver", "opsgate"}, {"groupLabels", {{"alertname", "HighErrorRate"}}},
                    {"alerts", json::array({alert})}};
    net::HttpRequest request;
    request.method = "POST";
    request.path = request.target = "/alertmanager";
    request.headers.emplace_back("Authorization", std::string("Bearer ") + kToken);
    request.body = payload.dump();
    std::optional<net::HttpResponse> response;
    asio::co_spawn(io, webhook->handle(std::move(request)), [&response](std::exception_ptr e, net::HttpResponse r) {
      if (e) std::rethrow_exception(e);
      response = std::move(r);
    });
    io.restart();
    io.run_for(std::chrono::seconds(10));
    REQUIRE(response);
    REQUIRE(response->status == 200);
    return json::parse(response->body);
  }
};

}  // namespace

TEST_SUITE("integration/alert_flow") {
  TEST_CASE("a flapping alert goes back to its thread within repeat_interval, counted, and is triaged once") {
    Flow f;
    f.post("firing");
    f.clock.at += std::chrono::minutes(20);
    f.post("resolved");
    f.clock.at += std::chrono::minutes(40);
    const json second = f.post("firing");
    CHECK(second["firing_again"] == 1);
    f.clock.at += std::chrono::minutes(30);
    f.post("resolved");
    f.clock.at += std::chrono::minutes(30);
    f.post("firing");

    REQUIRE(f.adapter.posted.size() == 1);  // one thread for the whole flapping
    CHECK(f.triage->runs == 1);
    std::vector<std::string> in_thread;
    for (const auto& m : f.adapter.sent) {
      CHECK(m.thread == "thread-1");
      in_thread.push_back(m.text);
    }
    INFO(json(in_thread).dump(1));
    const auto has = [&](const std::string& part) {
      return std::any_of(in_thread.begin(), in_thread.end(),
                         [&](const std::string& t) { return t.find(part) != std::string::npos; });
    };
    CHECK(has("firing again, 2nd time in 1h"));
    CHECK(has("firing again, 3rd time in 2h"));
    CHECK(has("✅ [RESOLVED] checkout in prod"));

    // Past repeat_interval after its resolution, it is a new incident.
    f.clock.at += std::chrono::minutes(10);
    f.post("resolved");
    f.clock.at += std::chrono::hours(5);
    f.post("firing");
    CHECK(f.adapter.posted.size() == 2);
    CHECK(f.triage->runs == 2);
  }

  TEST_CASE("the received alert is in the audit log: opsgate audit show says why the thread was opened") {
    Flow f;
    const json answer = f.post("firing");
    REQUIRE(answer["opened"].size() == 1);
    const std::string id = answer["opened"][0]["audit"];
    f.audit->close();
    f.database->close();

    auto events = audit::by_request(f.dir.file("opsgate.db"), id);
    REQUIRE(events);
    REQUIRE(events->size() == 1);
    const AuditEvent& e = events->front();
    CHECK(e.kind == "alert_received");
    CHECK(e.outcome == "opened");
    CHECK(e.principal == "system:alertmanager");
    CHECK(e.params["target"] == "checkout");
    CHECK(e.params["thread"] == "thread-1");
    const json& alert = e.params["alerts"][0];
    CHECK(alert["status"] == "firing");
    CHECK(alert["fingerprint"] == "a1b2c3d4e5f60718");
    CHECK(alert["startsAt"] == "2026-01-01T00:00:00Z");
    CHECK(alert["labels"]["alertname"] == "HighErrorRate");
    CHECK(alert["annotations"]["summary"] == "checkout error rate above 5%");
    CHECK(e.params.dump().find("hunter2hunter2") == std::string::npos);  // redacted like other details

    // And through the CLI, as an operator would ask.
    f.dir.write("c.yaml", "storage: {path: " + f.dir.file("opsgate.db") +
                              "}\nenvironments: {prod: {}}\ntargets: {checkout: {team: shop}}\n"
                              "intent: {parsers: [command]}\nadapters: {shell: {enabled: false}}\n"
                              "policy: {bindings: []}\n");
    const auto shown = test::run_command(std::string(OPSGATE_BINARY) + " audit show " + id + " --config " +
                                         f.dir.file("c.yaml") + " 2>&1");
    INFO(shown.out);
    CHECK(shown.exit_code == 0);
    CHECK(shown.out.find("alert_received") != std::string::npos);
    CHECK(shown.out.find("a1b2c3d4e5f60718") != std::string::npos);
    CHECK(shown.out.find("checkout error rate above 5%") != std::string::npos);
  }
}
