#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "tests/support/process.hpp"

using nlohmann::json;
using opsgate::test::run_command;
using opsgate::test::TempDir;

namespace {

// The stand-in API server as its own process, stopped when the test ends.
class StandInProcess {
 public:
  explicit StandInProcess(const TempDir& dir) : dir_(dir) {
    const std::string command = std::string(K8S_STAND_IN_BINARY) + " " + dir.path() + " sa-token-1 " +
                                std::to_string(::getpid()) +
                                " shop-prod/cart=cart=registry.example/shop/cart:3.1.0=3 > " + dir.file("stand-in.log") +
                                " 2>&1 &";
    REQUIRE(std::system(command.c_str()) == 0);
    for (int i = 0; i < 600 && !std::filesystem::exists(dir.file("port")); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE_MESSAGE(std::filesystem::exists(dir.file("port")), dir.read("stand-in.log"));
    port_ = std::stoi(dir.read("port"));
  }
  ~StandInProcess() {
    dir_.write("stop", "");
    for (int i = 0; i < 100 && !std::filesystem::exists(dir_.file("final.json")); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  int port() const { return port_; }
  std::vector<json> requests() const {
    std::vector<json> out;
    std::istringstream lines(dir_.read("requests.jsonl"));
    std::string line;
    while (std::getline(lines, line)) {
      out.push_back(json::parse(line));
    }
    return out;
  }

 private:
  const TempDir& dir_;
  int port_ = 0;
};

std::string config(const TempDir& dir, int port) {
  return R"(storage:
  path: )" + dir.file("opsgate.db") + R"(
default_env: prod
environments:
  prod: {synonyms: [production]}
  staging: {synonyms: [stage]}
targets:
  cart: {team: shop, namespace: "shop-{env}"}
adapters:
  shell: {enabled: true, allow_impersonation: true}
actions:
  kubernetes:
    clusters:
      prod:
        api_server: https://127.0.0.1:)" + std::to_string(port) + R"(
        token_file: )" + dir.file("token") + R"(
        ca_file: )" + dir.file("ca.crt") + R"(
    follow: {interval: 1s, timeout: 30s}
    targets:
      cart: {image: registry.example/shop/cart, max_replicas: 6}
policy:
  groups:
    shop: {members: [shell:alice]}
    sre: {members: [shell:bob]}
  roles:
    deployer: {actions: [restart, scale, rollout.*]}
  bindings:
    - {subjects: [group:shop, group:sre], roles: [deployer]}
  rules:
    - id: prod-writes-need-approval
      description: prod writes need an SRE
      match: {kinds: [write], envs: [prod]}
      effect: require_approval
      approvers: [group:sre]
)";
}

std::string opsgate_cmd(const TempDir& dir, const std::string& args) {
  return std::string(OPSGATE_BINARY) + " " + args + " --config " + dir.file("opsgate.yaml");
}

}  // namespace

TEST_SUITE("integration/kubernetes") {
  TEST_CASE("alice asks to deploy in prod, sees the dry run, bob approves, kubectl's PATCH is sent and followed") {
    TempDir dir;
    StandInProcess server(dir);
    dir.write("token", "sa-token-1\n");
    dir.write("opsgate.yaml", config(dir, server.port()));

    dir.write("ask.txt", "!deploy cart 3.2.0 prod\n");
    const auto ask = run_command(opsgate_cmd(dir, "shell --user alice") + " < " + dir.file("ask.txt") + " 2>" +
                                 dir.file("ask.err"));
    INFO(ask.out);
    INFO(dir.read("ask.err"));
    CHECK(ask.exit_code == 0);
    const auto at = ask.out.find("Approval id ");
    REQUIRE(at != std::string::npos);
    const std::string id = ask.out.substr(at + 12, 5);
    CHECK(ask.out.find("Dry run: would deploy 3.2.0 to cart in prod (deployment shop-prod/cart, container cart): "
                       "image registry.example/shop/cart:3.1.0 → registry.example/shop/cart:3.2.0") != std::string::npos);
    auto requests = server.requests();
    REQUIRE(requests.size() == 2);  // GET, and the dry-run PATCH
    CHECK(requests[1]["query"] == "dryRun=All&fieldManager=opsgate");

    dir.write("vote.txt", "approve " + id + "\n");
    const auto vote = run_command(opsgate_cmd(dir, "shell --user bob") + " < " + dir.file("vote.txt") + " 2>" +
                                  dir.file("vote.err"));
    INFO(vote.out);
    INFO(dir.read("vote.err"));
    CHECK(vote.exit_code == 0);
    CHECK(vote.out.find("Deploying 3.2.0 to cart in prod") != std::string::npos);
    CHECK(vote.out.find("cart rolled out in") != std::string::npos);
    CHECK(vote.out.find("(3/3 available)") != std::string::npos);

    // The one real write is exactly kubectl's.
    std::vector<json> writes;
    for (const auto& r : server.requests()) {
      if (r["method"] == "PATCH" && r["query"] == "fieldManager=opsgate") {
        writes.push_back(r);
      }
    }
    REQUIRE(writes.size() == 1);
    CHECK(writes[0]["path"] == "/apis/apps/v1/namespaces/shop-prod/deployments/cart");
    CHECK(writes[0]["content_type"] == "application/strategic-merge-patch+json");
    CHECK(writes[0]["body"] ==
          R"({"spec":{"template":{"spec":{"containers":[{"image":"registry.example/shop/cart:3.2.0","name":"cart"}]}}}})");

    // Every step is in the audit log, and the log verifies.
    SQLite::Database db(dir.file("opsgate.db"), SQLite::OPEN_READONLY);
    for (const char* kind : {"previewed", "approval_requested", "approval_vote", "approval_granted", "started",
                             "finished", "followed"}) {
      CHECK_MESSAGE(db.execAndGet(std::string("SELECT count(*) FROM audit_events WHERE kind='") + kind + "'").getInt() >= 1,
                    kind);
    }
    CHECK(db.execAndGet("SELECT outcome FROM audit_events WHERE kind='followed'").getString() == "ok");
    const auto tail = run_command(opsgate_cmd(dir, "audit tail"));
    CHECK(tail.out.find("followed") != std::string::npos);
    CHECK(run_command(opsgate_cmd(dir, "audit verify")).exit_code == 0);
  }

  TEST_CASE("a scale outside the target's bounds is refused before anything is sent") {
    TempDir dir;
    StandInProcess server(dir);
    dir.write("token", "sa-token-1\n");
    dir.write("opsgate.yaml", config(dir, server.port()));
    dir.write("ask.txt", "!scale cart 9 prod\n");
    const auto ask = run_command(opsgate_cmd(dir, "shell --user alice") + " < " + dir.file("ask.txt") + " 2>/dev/null");
    INFO(ask.out);
    CHECK(ask.out.find("1 to 6 replicas; 9 is outside") != std::string::npos);
    CHECK(ask.out.find("Approval id") == std::string::npos);
    CHECK(server.requests().empty());
  }
}
