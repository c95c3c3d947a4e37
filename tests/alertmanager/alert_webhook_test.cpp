// POST /alertmanager: the bearer token, firing alerts opening one thread per
// group and target (with the triage asked for in it), repeats staying in
// their thread (also across a restart: the mapping is in SQLite), resolved
// notifications in the same thread, and alerts for unknown targets posted
// once with a hint.

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "src/alertmanager/alert_webhook.hpp"
#include "src/store/sqlite_store.hpp"
#include "tests/support/fakes.hpp"
#include "tests/support/process.hpp"
#include "tests/support/system_fakes.hpp"

namespace asio = boost::asio;
using nlohmann::json;
using opsgate::alertmanager::AlertWebhook;
using opsgate::alertmanager::AlertWebhookConfig;

namespace {

constexpr const char* kToken = "s3cret-token-for-the-test";

std::shared_ptr<const opsgate::Inventory> inventory() {
  auto placements = [](const std::string& name, const std::string& team) {
    std::map<std::string, opsgate::TargetPlacement> out;
    for (const std::string env : {"prod", "staging"}) {
      out[env] = opsgate::TargetPlacement{team + "-" + env, name, "app=\"" + name + "\"", "{app=\"" + name + "\"}"};
    }
    return out;
  };
  std::vector<opsgate::Target> targets{{"checkout", {}, "shop", placements("checkout", "shop")},
                                       {"search", {}, "discovery", placements("search", "discovery")}};
  std::vector<opsgate::Environment> envs{{"prod", {}}, {"staging", {}}};
  return std::make_shared<const opsgate::Inventory>(std::move(targets), std::move(envs), "prod");
}

struct Ran {
  opsgate::ChatEvent origin;
  opsgate::ActionRequest request;
};

class Harness {
 public:
  explicit Harness(const std::string& db) {
    auto opened = opsgate::store::SqliteStore::open(db);
    REQUIRE(opened);
    store_ = std::move(*opened);
    AlertWebhookConfig config;
    config.token = opsgate::Secret(kToken, "test");
    config.channels.default_channel = opsgate::ChannelRef{"test", "alerts"};
    config.channels.team_channels["discovery"] = opsgate::ChannelRef{"test", "discovery-oncall"};
    webhook_ = std::make_unique<AlertWebhook>(
        config, inventory(), opsgate::alertmanager::make_sqlite_alert_thread_store(store_), [this](std::string_view p) -> opsgate::Adapter* { return p == "test" ? &adapter : nullptr; },
        [this](opsgate::ChatEvent origin, opsgate::ActionRequest request) { return record(std::move(origin), std::move(request)); },
        audit, clock);
  }

  opsgate::net::HttpResponse post(const json& payload, const std::string& token = kToken) {
    opsgate::net::HttpRequest request;
    request.method = "POST";
    request.path = request.target = "/alertmanager";
    request.headers.emplace_back("Authorization", "Bearer " + token);
    request.body = payload.dump();
    std::optional<opsgate::net::HttpResponse> response;
    asio::co_spawn(io_, webhook_->handle(std::move(request)), [&response](std::exception_ptr e, opsgate::net::HttpResponse r) {
      if (e) std::rethrow_exception(e);
      response = std::move(r);
    });
    io_.restart();
    io_.run_for(std::chrono::seconds(10));
    REQUIRE(response);
    return *response;
  }

  opsgate::test::ThreadingAdapter adapter;
  opsgate::test::FixedClock clock;
  opsgate::test::MemoryAuditLog audit;
  std::vector<Ran> ran;

 private:
  asio::awaitable<void> record(opsgate::ChatEvent origin, opsgate::ActionRequest request) {
    ran.push_back({std::move(origin), std::move(request)});
    co_return;
  }

  asio::io_context io_;
  std::shared_ptr<opsgate::store::SqliteStore> store_;
  std::unique_ptr<AlertWebhook> webhook_;
};

json alert(const std::string& status, const std::string& name, json labels) {
  labels["alertname"] = name;
  return {{"status", status},
          {"labels", labels},
          {"annotations", {{"summary", name + " summary"}}},
          {"startsAt", "2026-01-01T00:00:00Z"},
          {"endsAt", "0001-01-01T00:00:00Z"},
          {"fingerprint", "a1b2c3d4e5f60718"}};
}

json payload(const std::string& status, const std::string& group, json alerts) {
  return {{"version", "4"},         {"groupKey", group},
          {"truncatedAlerts", 0},   {"status", status},
          {"receiver", "opsgate"},  {"groupLabels", {{"alertname", "HighErrorRate"}}},
          {"commonLabels", json::object()}, {"commonAnnotations", json::object()},
          {"externalURL", "http://alertmanager:9093"}, {"alerts", alerts}};
}

const std::string kGroup = "{}:{alertname=\"HighErrorRate\"}";

}  // namespace

TEST_SUITE("app/alertmanager") {
  TEST_CASE("a wrong or missing bearer token is 401 and posts nothing") {
    opsgate::test::TempDir dir;
    Harness h(dir.file("opsgate.db"));
    const json firing = payload("firing", kGroup, json::array({alert("firing", "HighErrorRate", {{"service", "checkout"}, {"env", "prod"}})}));
    CHECK(h.post(firing, "wrong").status == 401);
    CHECK(h.post(firing, "").status == 401);
    CHECK(h.adapter.posted.empty());
    CHECK(h.ran.empty());
  }

  TEST_CASE("a firing alert opens a thread and triages there, a repeat stays, resolved goes to the same thread") {
    opsgate::test::TempDir dir;
    Harness h(dir.file("opsgate.db"));
    const json firing = payload("firing", kGroup, json::array({alert("firing", "HighErrorRate", {{"service", "checkout"}, {"env", "prod"}, {"severity", "page"}})}));
    const auto first = h.post(firing);
    CHECK(first.status == 200);
    REQUIRE(h.adapter.posted.size() == 1);
    CHECK(h.adapter.posted[0].channel == "alerts");
    CHECK(h.adapter.posted[0].text.rfind("🚨 [FIRING] checkout in prod:\n• HighErrorRate [page]: HighErrorRate summary", 0) == 0);
    REQUIRE(h.ran.size() == 1);
    CHECK(h.ran[0].request.action == "triage");
    CHECK(h.ran[0].request.params == json{{"target", "checkout"}, {"env", "prod"}});
    CHECK(h.ran[0].origin.thread == "thread-1");
    CHECK(h.ran[0].origin.principal.id == "system:alertmanager");

    const auto repeat = h.post(firing);
    CHECK(repeat.status == 200);
    CHECK(json::parse(repeat.body)["repeats"] == 1);
    CHECK(h.adapter.posted.size() == 1);
    CHECK(h.ran.size() == 1);

    const json resolved = payload("resolved", kGroup, json::array({alert("resolved", "HighErrorRate", {{"service", "checkout"}, {"env", "prod"}})}));
    CHECK(h.post(resolved).status == 200);
    REQUIRE(h.adapter.sent.size() == 1);
    CHECK(h.adapter.sent[0].thread == "thread-1");
    CHECK(h.adapter.sent[0].text.rfind("✅ [RESOLVED] checkout in prod:", 0) == 0);

    // Firing again within repeat_interval of its resolution: back to its thread (see the flapping test).
    h.post(firing);
    CHECK(h.adapter.posted.size() == 1);
  }

  TEST_CASE("the group-to-thread mapping survives a restart, after repeat_interval a new thread opens") {
    opsgate::test::TempDir dir;
    const json firing = payload("firing", kGroup, json::array({alert("firing", "HighErrorRate", {{"app", "checkout"}, {"namespace", "shop-prod"}})}));
    {
      Harness h(dir.file("opsgate.db"));
      h.post(firing);
      CHECK(h.adapter.posted.size() == 1);
    }
    Harness again(dir.file("opsgate.db"));
    again.post(firing);
    CHECK(again.adapter.posted.empty());
    again.clock.at += std::chrono::hours(5);  // past the default 4h
    again.post(firing);
    CHECK(again.adapter.posted.size() == 1);
    CHECK(again.ran.size() == 1);
  }

  TEST_CASE("a grouped payload opens one thread per target, in each target's (team's) channel") {
    opsgate::test::TempDir dir;
    Harness h(dir.file("opsgate.db"));
    const json grouped = payload("firing", kGroup, json::array({
        alert("firing", "HighErrorRate", {{"service", "checkout"}, {"env", "prod"}, {"pod", "a"}}),
        alert("firing", "HighErrorRate", {{"service", "checkout"}, {"env", "prod"}, {"pod", "b"}}),
        alert("firing", "HighErrorRate", {{"service", "search"}, {"env", "staging"}})}));
    const auto response = h.post(grouped);
    CHECK(response.status == 200);
    CHECK(json::parse(response.body)["opened"].size() == 2);
    REQUIRE(h.adapter.posted.size() == 2);
    REQUIRE(h.ran.size() == 2);
    CHECK(h.ran[0].request.params == json{{"target", "checkout"}, {"env", "prod"}});
    CHECK(h.ran[1].request.params == json{{"target", "search"}, {"env", "staging"}});
    CHECK(h.ran[1].origin.channel == "discovery-oncall");
    // Both checkout alerts are in checkout's one message.
    CHECK(h.adapter.posted[0].text.find("HighErrorRate summary") != h.adapter.posted[0].text.rfind("HighErrorRate summary"));
  }

  TEST_CASE("alerts for unknown targets are posted once with a hint, and not triaged") {
    opsgate::test::TempDir dir;
    Harness h(dir.file("opsgate.db"));
    const json unknown = payload("firing", "{}:{alertname=\"DiskFull\"}", json::array({alert("firing", "DiskFull", {{"instance", "db-1:9100"}})}));
    const auto first = h.post(unknown);
    CHECK(first.status == 200);
    CHECK(json::parse(first.body)["unmapped"] == 1);
    REQUIRE(h.adapter.posted.size() == 1);
    CHECK(h.adapter.posted[0].text.find("name no target I know") != std::string::npos);
    CHECK(h.adapter.posted[0].text.find("alertmanager.target_labels") != std::string::npos);
    CHECK(h.ran.empty());
    h.clock.at += std::chrono::hours(24);
    h.post(unknown);
    CHECK(h.adapter.posted.size() == 1);
  }

  TEST_CASE("a body that is not a webhook payload is 400") {
    opsgate::test::TempDir dir;
    Harness h(dir.file("opsgate.db"));
    opsgate::net::HttpRequest request;
    CHECK(h.post(json("nope")).status == 400);
    CHECK(h.post(json{{"alerts", "x"}}).status == 400);
  }
}
