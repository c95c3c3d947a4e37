#include "src/app/audit_show_action.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "src/audit/audit_reader.hpp"

namespace opsgate::app {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kShown = 15;

class AuditShowAction final : public Action {
 public:
  AuditShowAction(audit::AuditSource source, std::shared_ptr<const Inventory> inventory)
      : path_(std::move(source)), inventory_(std::move(inventory)), pool_(1) {}
  ~AuditShowAction() override { pool_.join(); }

  const ActionSpec& spec() const override { return *find_action("audit.show"); }

  asio::awaitable<Result<ActionResult>> execute(ActionRequest request) override {
    const auto home = co_await asio::this_coro::executor;
    const std::string target =
        request.params.contains("target") ? request.params["target"].get<std::string>() : std::string{};
    // SQLite reads are short but blocking: do them on the pool, then come back.
    co_await asio::post(pool_, asio::use_awaitable);
    auto events = target.empty() ? audit::tail(path_, kShown) : audit::recent_for_target(path_, target, kShown);
    co_await asio::post(home, asio::use_awaitable);
    if (!events) {
      co_return tl::unexpected(events.error());
    }
    ActionResult result;
    result.summary = target.empty() ? "Last audit events:" : "Last audit events for " + target + ":";
    if (events->empty()) {
      result.summary += " none yet.";
    }
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& event : *events) {
      result.summary += "\n  " + audit::format_event_line(event);
      rows.push_back(to_json(event));
    }
    result.data["events"] = std::move(rows);
    co_return result;
  }

 private:
  audit::AuditSource path_;
  std::shared_ptr<const Inventory> inventory_;
  asio::thread_pool pool_;
};

}  // namespace

std::unique_ptr<Action> make_audit_show_action(audit::AuditSource database, std::shared_ptr<const Inventory> inventory) {
  return std::make_unique<AuditShowAction>(std::move(database), std::move(inventory));
}

}  // namespace opsgate::app
