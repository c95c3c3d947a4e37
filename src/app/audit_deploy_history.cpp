#include "src/app/audit_deploy_history.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "src/audit/audit_reader.hpp"

namespace opsgate::app {

namespace asio = boost::asio;

namespace {

constexpr std::int64_t kScanned = 500;  // newest events of the target read per triage

// Owned by the triage action (shared); deploys() may run concurrently.
class AuditDeployHistory final : public actions::triage::DeployHistory {
 public:
  explicit AuditDeployHistory(audit::AuditSource source) : path_(std::move(source)), pool_(1) {}
  ~AuditDeployHistory() override { pool_.join(); }

  std::string name() const override { return "the audit log"; }

  asio::awaitable<Result<std::vector<actions::triage::DeployEvent>>> deploys(std::string target, std::string env,
                                                                             std::int64_t since_s,
                                                                             std::int64_t until_s) override {
    const auto home = co_await asio::this_coro::executor;
    // SQLite reads are short but blocking: do them on the pool, then come back.
    co_await asio::post(pool_, asio::use_awaitable);
    auto events = audit::recent_for_target(path_, target, kScanned);
    co_await asio::post(home, asio::use_awaitable);
    if (!events) {
      co_return tl::unexpected(events.error());
    }
    std::vector<actions::triage::DeployEvent> out;
    for (const auto& event : *events) {
      const std::int64_t at_s = event.ts_ms / 1000;
      if (event.kind != "finished" || event.outcome != "ok" || at_s < since_s || at_s > until_s) {
        continue;
      }
      if (event.params.value("env", "") != env) {
        continue;
      }
      std::string what;
      if (event.action == "rollout.deploy") {
        what = target + " " + event.params.value("version", "") + " was deployed";
      } else if (event.action == "rollout.undo") {
        what = target + " was rolled back";
      } else if (event.action == "restart") {
        what = target + " was restarted";
      } else if (event.action == "scale" && event.params.contains("replicas")) {
        what = target + " was scaled to " + event.params["replicas"].dump();
      } else {
        continue;
      }
      out.push_back({at_s, what + " by " + event.principal, "opsgate audit log"});
    }
    co_return out;
  }

 private:
  audit::AuditSource path_;
  asio::thread_pool pool_;
};

}  // namespace

std::shared_ptr<actions::triage::DeployHistory> make_audit_deploy_history(audit::AuditSource database) {
  return std::make_shared<AuditDeployHistory>(std::move(database));
}

}  // namespace opsgate::app
