#include "src/alertmanager/alert_webhook.hpp"

#include <algorithm>
#include <mutex>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actions/prometheus/prometheus_answers.hpp"
#include "src/core/duration.hpp"
#include "src/core/redact.hpp"
#include "src/core/request_id.hpp"
#include "src/net/http_server.hpp"

namespace opsgate::alertmanager {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxAlertsListed = 5;
// What one alert_received audit event keeps of the payload.
constexpr std::size_t kMaxAlertsAudited = 10;
constexpr std::size_t kMaxAuditedValue = 300;   // characters per label or annotation value
constexpr std::size_t kMaxAuditedJson = 8000;   // the whole alerts array, dumped

std::string text_of(const json& object, const char* key) {
  if (!object.is_object()) {
    return "";
  }
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : "";
}

const json& object_of(const json& object, const char* key) {
  static const json empty = json::object();
  if (!object.is_object()) {
    return empty;
  }
  const auto found = object.find(key);
  return found != object.end() && found->is_object() ? *found : empty;
}

// One thread's worth of a payload: the alerts of one group for one target.
struct Bucket {
  std::string key;  // groupKey|target|env
  std::string target;
  std::string env;
  std::vector<const json*> alerts;
  bool firing = false;  // any alert of the bucket still firing
};

}  // namespace

AlertWebhookConfig parse_alert_webhook_config(const ConfigNode& node, const Inventory& inventory) {
  AlertWebhookConfig config;
  if (!node.is_map()) {
    node.fail_here("expected a mapping (token, target_labels, env_labels, repeat_interval, channels)");
  }
  config.token = node.secret("token");
  if (config.token.reveal().size() < 16) {
    node.fail("token", "is shorter than 16 characters: use a long random token (openssl rand -hex 32) and give "
                       "Alertmanager the same one (http_config.authorization.credentials)");
  }
  config.target_labels = node.strings_or("target_labels", config.target_labels);
  config.env_labels = node.strings_or("env_labels", config.env_labels);
  config.repeat_interval = node.duration_or("repeat_interval", config.repeat_interval);
  config.principal = node.str_or("principal", config.principal);
  config.triage = node.boolean_or("triage", true);
  config.channels = read_channel_routes(node, inventory);
  node.finish();
  return config;
}

struct AlertWebhook::State {
  AlertWebhookConfig config;
  std::shared_ptr<const Inventory> inventory;
  AdapterLookup adapters;
  Runner runner;
  AuditLog& audit;
  const Clock& clock;
  std::shared_ptr<AlertThreadStore> threads;
  std::mutex mutex;                   // guards busy
  std::set<std::string> busy;         // bucket keys being handled now

  State(AlertWebhookConfig c, std::shared_ptr<const Inventory> i, std::shared_ptr<AlertThreadStore> t,
        AdapterLookup a, Runner r, AuditLog& l, const Clock& k)
      : config(std::move(c)), inventory(std::move(i)), adapters(std::move(a)), runner(std::move(r)), audit(l),
        clock(k), threads(std::move(t)) {}

};

AlertWebhook::AlertWebhook(AlertWebhookConfig config, std::shared_ptr<const Inventory> inventory,
                           std::shared_ptr<AlertThreadStore> threads, AdapterLookup adapters, Runner runner,
                           AuditLog& audit, const Clock& clock)
    : state_(std::make_shared<State>(std::move(config), std::move(inventory), std::move(threads), std::move(adapters),
                                     std::move(runner), audit, clock)) {}

AlertWebhook::~AlertWebhook() = default;

void AlertWebhook::install_routes(net::HttpServer& server, EventSink& /*sink*/) {
  server.route("POST", "/alertmanager", [this](net::HttpRequest request) { return handle(std::move(request)); });
}

namespace {

std::string alert_line(const json& alert) {
  const json& labels = object_of(alert, "labels");
  const json& annotations = object_of(alert, "annotations");
  std::string name = text_of(labels, "alertname");
  std::string line = "• " + (name.empty() ? std::string("(unnamed alert)") : name);
  const std::string severity = text_of(labels, "severity");
  if (!severity.empty()) {
    line += " [" + severity + "]";
  }
  std::string what = text_of(annotations, "summary");
  if (what.empty()) {
    what = text_of(annotations, "description");
  }
  if (!what.empty()) {
    line += ": " + what;
  }
  const std::string since = text_of(alert, "startsAt");
  if (!since.empty()) {
    line += " (since " + since + ")";
  }
  return actions::prometheus::snippet(line, 400);
}

std::string alerts_text(const std::vector<const json*>& alerts) {
  std::string out;
  for (std::size_t i = 0; i < alerts.size() && i < kMaxAlertsListed; ++i) {
    out += "\n" + alert_line(*alerts[i]);
  }
  if (alerts.size() > kMaxAlertsListed) {
    out += "\n… and " + std::to_string(alerts.size() - kMaxAlertsListed) + " more";
  }
  return out;
}

std::string ordinal(std::int64_t n) {
  const std::int64_t tens = n % 100;
  const std::int64_t ones = n % 10;
  const char* suffix = (tens >= 11 && tens <= 13) ? "th" : ones == 1 ? "st" : ones == 2 ? "nd" : ones == 3 ? "rd" : "th";
  return std::to_string(n) + suffix;
}

// A label or annotation value as the audit log keeps it: secrets redacted
// (judged with its key, as in `token=...`), at most kMaxAuditedValue long.
std::string audited_value(const std::string& key, const json& value) {
  const std::string text = value.is_string() ? value.get<std::string>()
                                             : value.dump(-1, ' ', false, json::error_handler_t::replace);
  const std::string both = redact_secrets(key + "=" + text);
  const std::string redacted =
      both.rfind(key + "=", 0) == 0 ? both.substr(key.size() + 1) : std::string(kRedacted);
  return actions::prometheus::snippet(redacted, kMaxAuditedValue);
}

json audited_map(const json& map) {
  constexpr std::size_t kMaxKeys = 40;
  json out = json::object();
  std::size_t n = 0;
  for (const auto& [k, v] : map.items()) {
    if (++n > kMaxKeys) {
      out["…"] = std::to_string(map.size() - kMaxKeys) + " more";
      break;
    }
    out[actions::prometheus::snippet(k, 100)] = audited_value(k, v);
  }
  return out;
}

// The alerts of one bucket as Alertmanager sent them: status, labels,
// annotations, fingerprint and times; bounded in count and size.
json audited_alerts(const std::vector<const json*>& alerts) {
  json out = json::array();
  for (std::size_t i = 0; i < alerts.size() && i < kMaxAlertsAudited; ++i) {
    const json& a = *alerts[i];
    json one = {{"status", text_of(a, "status")},
                {"labels", audited_map(object_of(a, "labels"))},
                {"annotations", audited_map(object_of(a, "annotations"))},
                {"fingerprint", actions::prometheus::snippet(text_of(a, "fingerprint"), 64)},
                {"startsAt", actions::prometheus::snippet(text_of(a, "startsAt"), 40)},
                {"endsAt", actions::prometheus::snippet(text_of(a, "endsAt"), 40)}};
    const std::string source = text_of(a, "generatorURL");
    if (!source.empty()) {
      one["generatorURL"] = audited_value("generatorURL", source);
    }
    out.push_back(std::move(one));
  }
  while (out.size() > 1 && out.dump(-1, ' ', false, json::error_handler_t::replace).size() > kMaxAuditedJson) {
    out.erase(out.size() - 1);
  }
  return out;
}

}  // namespace

asio::awaitable<net::HttpResponse> AlertWebhook::handle(net::HttpRequest request) {
  const std::shared_ptr<State> s = state_;
  const std::string_view auth = request.header_or_empty("authorization");
  const std::string_view prefix = "Bearer ";
  if (auth.size() <= prefix.size() || auth.substr(0, prefix.size()) != prefix ||
      !s->config.token.matches(auth.substr(prefix.size()))) {
    spdlog::warn("alertmanager webhook from {} refused: missing or wrong bearer token", request.remote_address);
    co_return net::HttpResponse::json(401, json{{"error", "missing or wrong bearer token"}});
  }
  const json payload = json::parse(request.body, nullptr, false);
  if (payload.is_discarded() || !payload.is_object() || !payload.contains("alerts") || !payload["alerts"].is_array()) {
    co_return net::HttpResponse::json(400, json{{"error", "not an Alertmanager webhook payload (JSON with alerts[])"}});
  }
  const std::string group_key = text_of(payload, "groupKey").empty() ? text_of(payload, "receiver") + "|" +
                                                                           object_of(payload, "groupLabels").dump()
                                                                     : text_of(payload, "groupKey");
  const actions::prometheus::AlertLabels names{s->config.target_labels, s->config.env_labels};

  // One bucket per target (and one for alerts that map to none).
  std::map<std::string, Bucket> buckets;
  for (const auto& alert : payload["alerts"]) {
    if (!alert.is_object()) {
      continue;
    }
    json labels = object_of(payload, "commonLabels");
    labels.update(object_of(alert, "labels"));
    const auto [target, env_name] = actions::prometheus::alert_target(labels, names, *s->inventory);
    std::string env = env_name;
    if (target != nullptr && env.empty()) {
      env = s->inventory->default_env();
    }
    const std::string name = target != nullptr ? target->name : "";
    const std::string key = group_key + "|" + name + "|" + (target != nullptr ? env : "");
    Bucket& bucket = buckets[key];
    bucket.key = key;
    bucket.target = name;
    bucket.env = target != nullptr ? env : "";
    bucket.alerts.push_back(&alert);
    bucket.firing = bucket.firing || text_of(alert, "status") != "resolved";
  }

  json opened = json::array();
  int repeats = 0;
  int firing_again = 0;
  int resolved = 0;
  int unmapped = 0;
  std::string failure;
  for (auto& [key, bucket] : buckets) {
    {
      std::lock_guard lock(s->mutex);
      if (!s->busy.insert(key).second) {
        ++repeats;  // the same group is being handled by another delivery right now
        continue;
      }
    }
    struct Release {
      std::shared_ptr<State> s;
      std::string key;
      ~Release() {
        std::lock_guard lock(s->mutex);
        s->busy.erase(key);
      }
    } release{s, key};

    const std::int64_t now_ms = to_unix_ms(s->clock.now());
    const std::int64_t repeat_ms = std::chrono::milliseconds(s->config.repeat_interval).count();
    auto loaded = co_await s->threads->load(key, now_ms - repeat_ms);
    if (!loaded) {
      failure = "alert threads database: " + loaded.error().message;
      break;
    }
    const std::optional<AlertThread> known = std::move(*loaded);

    // What happened to this group, for the audit log and the answer.
    std::string what;
    std::optional<AlertThread> row;  // the thread, once known or opened
    if (!bucket.firing) {
      if (!known || known->resolved) {
        continue;  // resolved before we saw it firing, or already told
      }
      Adapter* adapter = s->adapters(known->platform);
      if (adapter != nullptr && !bucket.target.empty()) {
        OutboundMessage message;
        message.platform = known->platform;
        message.channel = known->channel;
        message.thread = known->thread;
        message.text = "✅ [RESOLVED] " + bucket.target + " in " + bucket.env + ":" + alerts_text(bucket.alerts);
        co_await adapter->send(std::move(message));
      }
      // Kept, marked resolved: if the group fires again within
      // repeat_interval it goes back to this thread.
      row = *known;
      row->resolved = true;
      row->last_ms = now_ms;
      what = "resolved";
      ++resolved;
    } else if (known && !known->resolved && (bucket.target.empty() || now_ms - known->opened_ms < repeat_ms)) {
      // Unmapped alerts are posted once per group, however long they fire.
      ++repeats;
      continue;
    } else if (known && known->resolved && now_ms - known->last_ms < repeat_ms) {
      // Flapping: back to its thread, counted, without a second triage.
      row = *known;
      row->resolved = false;
      row->last_ms = now_ms;
      row->fired = known->fired + 1;
      what = "firing_again";
      Adapter* adapter = s->adapters(known->platform);
      if (adapter != nullptr && !bucket.target.empty()) {
        const std::int64_t span_s = std::max<std::int64_t>(1, (now_ms - known->opened_ms) / 1000);
        OutboundMessage message;
        message.platform = known->platform;
        message.channel = known->channel;
        message.thread = known->thread;
        message.text = "🔁 [FIRING AGAIN] " + bucket.target + " in " + bucket.env + " — firing again, " +
                       ordinal(row->fired) + " time in " + format_duration(span_s) + ":" + alerts_text(bucket.alerts) +
                       "\nThe triage above is from when this thread opened; ask `!triage " + bucket.target + " " +
                       bucket.env + "` for a fresh one.";
        co_await adapter->send(std::move(message));
        ++firing_again;
      } else {
        ++repeats;
      }
    } else {
      const std::optional<ChannelRef> channel = bucket.target.empty()
                                                    ? s->config.channels.default_channel
                                                    : s->config.channels.channel_for(bucket.target, *s->inventory);
      if (!channel) {
        spdlog::warn("alertmanager: no channel for {} (alertmanager.channels)",
                     bucket.target.empty() ? "unmapped alerts" : bucket.target);
        if (bucket.target.empty()) {
          ++unmapped;
        } else {
          ++repeats;
        }
        continue;
      }
      Adapter* adapter = s->adapters(channel->platform);
      if (adapter == nullptr) {
        failure = "no adapter for platform '" + channel->platform + "' (alertmanager.channels)";
        break;
      }
      OutboundMessage message;
      message.platform = channel->platform;
      message.channel = channel->channel;
      if (bucket.target.empty()) {
        std::string labels;
        for (const auto& [k, v] : object_of(*bucket.alerts.front(), "labels").items()) {
          labels += (labels.empty() ? "" : ", ") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
        }
        std::string wanted;
        for (const auto& l : s->config.target_labels) {
          wanted += (wanted.empty() ? "" : " or ") + l;
        }
        message.text = "🚨 [FIRING] alerts that name no target I know:" + alerts_text(bucket.alerts) + "\nLabels: " +
                       actions::prometheus::snippet(labels, 400) + "\nTo triage them, give them a " + wanted +
                       " label naming an inventory target, or list the label that does under "
                       "alertmanager.target_labels. (Posted once for this group.)";
        what = "unmapped";
        ++unmapped;
      } else {
        message.text = "🚨 [FIRING] " + bucket.target + " in " + bucket.env + ":" + alerts_text(bucket.alerts) +
                       (s->config.triage ? "\nTriage follows in this thread." : "");
        what = "opened";
      }
      auto posted = co_await adapter->post(std::move(message));
      if (!posted) {
        failure = "posting to " + channel->platform + ":" + channel->channel + " failed: " + posted.error().message;
        break;
      }
      row = AlertThread{channel->platform, channel->channel, *posted, bucket.target, bucket.env, now_ms, now_ms, 1,
                        false};
    }

    auto saved = co_await s->threads->save(key, *row);
    if (!saved) {
      spdlog::error("alertmanager: could not remember the thread of {}: {}", key, saved.error().message);
    }

    // The alert as received, so `opsgate audit show` can say why this thread exists.
    AuditEvent event;
    event.request_id = new_request_id();
    event.kind = "alert_received";
    event.platform = row->platform;
    event.channel = row->channel;
    event.principal = s->config.principal;
    event.params = {{"group_key", actions::prometheus::snippet(group_key, 300)},
                    {"status", bucket.firing ? "firing" : "resolved"},
                    {"thread", row->thread},
                    {"times_fired", row->fired},
                    {"alerts_total", bucket.alerts.size()},
                    {"alerts", audited_alerts(bucket.alerts)}};
    if (!bucket.target.empty()) {
      event.params["target"] = bucket.target;
      event.params["env"] = bucket.env;
    }
    event.outcome = what;
    event.detail = what + ": " + std::to_string(bucket.alerts.size()) + " alert(s) of group " +
                   actions::prometheus::snippet(group_key, 200) + " in thread " + row->platform + ":" + row->channel +
                   "/" + row->thread;
    event.ts_ms = now_ms;
    const std::string audit_id = event.request_id;
    auto appended = co_await s->audit.append(std::move(event));
    if (!appended) {
      spdlog::error("[{}] alertmanager: audit append of alert_received failed: {}", audit_id, appended.error().message);
    }

    if (what != "opened") {
      continue;
    }
    opened.push_back({{"target", bucket.target}, {"env", bucket.env}, {"platform", row->platform},
                      {"channel", row->channel}, {"thread", row->thread}, {"audit", audit_id}});
    if (s->config.triage) {
      ChatEvent origin;
      origin.platform = row->platform;
      origin.channel = row->channel;
      origin.thread = row->thread;
      origin.principal.id = s->config.principal;
      origin.principal.display_name = "Alertmanager";
      origin.text = "alert " + key;
      ActionRequest triage("triage", json{{"target", bucket.target}, {"env", bucket.env}});
      co_await s->runner(std::move(origin), std::move(triage));
    }
  }
  if (!failure.empty()) {
    spdlog::error("alertmanager webhook: {}", failure);
    co_return net::HttpResponse::json(502, json{{"error", failure}});
  }
  co_return net::HttpResponse::json(
      200, json{{"opened", opened}, {"firing_again", firing_again}, {"repeats", repeats}, {"resolved", resolved}, {"unmapped", unmapped}});
}

}  // namespace opsgate::alertmanager
