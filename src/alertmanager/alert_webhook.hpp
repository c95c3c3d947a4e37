#pragma once
// Alert-driven triage: `POST /alertmanager` takes Alertmanager's webhook
// (../shared/specs/prometheus-loki.md), checks its bearer token, maps each
// alert's labels to an inventory target and opens a thread in the channel
// configured for that target (or its team, or the default) with the alert;
// then it asks the pipeline to run `triage` there as system:alertmanager
// (audited and policy-checked like any request). The resolved notification
// goes to the same thread. Repeats of a group within repeat_interval open no
// new thread, and neither does a flapping group: firing again within
// repeat_interval of its resolution goes back to its thread ("firing again,
// 3rd time in 2h") without a second triage. Alerts that map to no target are
// posted once with a hint. Which thread belongs to which group is kept in
// the daemon's database (an AlertThreadStore), so a restart opens no duplicates. Every
// received group is appended to the audit log (`alert_received`) with the
// alerts as Alertmanager sent them (bounded, secrets redacted), so the log
// says why a thread was opened.
//
//   alertmanager:
//     token: {env: OPSGATE_ALERTMANAGER_TOKEN}   # Alertmanager's http_config.authorization.credentials
//     target_labels: [service, app]     # labels that name the target (or its deployment)
//     env_labels: [env, namespace]      # labels that name the environment (or its namespace)
//     repeat_interval: 4h               # a group firing again within it stays in its thread
//     principal: system:alertmanager    # who the policy sees running the triage
//     triage: true                      # false: post the alert only
//     channels:
//       default: shell:alerts           # <platform>:<channel>
//       teams: {shop: "slack:C0123"}
//       targets: {checkout: "slack:C0456"}

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "src/alertmanager/alert_thread_store.hpp"
#include "src/core/action_request.hpp"
#include "src/core/adapter.hpp"
#include "src/core/audit_log.hpp"
#include "src/core/chat_event.hpp"
#include "src/core/clock.hpp"
#include "src/core/channel_routes.hpp"
#include "src/core/config_node.hpp"
#include "src/core/inventory.hpp"
#include "src/core/secret.hpp"
#include "src/core/webhook_receiver.hpp"
#include "src/net/http_types.hpp"

namespace opsgate::alertmanager {

// The `alertmanager` section, validated once at start-up.
struct AlertWebhookConfig {
  Secret token;
  std::vector<std::string> target_labels{"service", "app"};
  std::vector<std::string> env_labels{"env", "namespace"};
  std::chrono::seconds repeat_interval{4 * 3600};
  std::string principal = "system:alertmanager";
  bool triage = true;
  ChannelRoutes channels;
};

// Throws ConfigError (file:line:key) for an unknown key, a missing or empty
// token, a channel not written <platform>:<channel>, or a target under
// channels.targets that the inventory does not know.
AlertWebhookConfig parse_alert_webhook_config(const ConfigNode& node, const Inventory& inventory);

// Owned by the daemon, which installs its route (POST /alertmanager to
// handle()); handle() may run on any connection strand, concurrently (state
// is in the AlertThreadStore, and an in-memory set of groups being handled).
class AlertWebhook : public WebhookReceiver {
 public:
  // The adapter of a platform, or null; looked up per request.
  using AdapterLookup = std::function<Adapter*(std::string_view platform)>;
  // Runs a system request (Pipeline::on_system_request).
  using Runner = std::function<boost::asio::awaitable<void>(ChatEvent, ActionRequest)>;

  // `threads` is the daemon's store of alert threads; `audit` and `clock`
  // must outlive the webhook.
  AlertWebhook(AlertWebhookConfig config, std::shared_ptr<const Inventory> inventory,
               std::shared_ptr<AlertThreadStore> threads, AdapterLookup adapters, Runner runner, AuditLog& audit,
               const Clock& clock);
  ~AlertWebhook();
  AlertWebhook(const AlertWebhook&) = delete;
  AlertWebhook& operator=(const AlertWebhook&) = delete;

  // POST /alertmanager. Alerts reach the pipeline through the Runner, not `sink`.
  void install_routes(net::HttpServer& server, EventSink& sink) override;

  // 401 without the token, 400 for a body that is not a webhook payload,
  // 502 when a thread could not be posted (Alertmanager retries 5xx), else
  // 200 with what was done: {"opened": [...], "firing_again": n, "repeats": n, "resolved": n, "unmapped": n}.
  boost::asio::awaitable<net::HttpResponse> handle(net::HttpRequest request);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace opsgate::alertmanager
