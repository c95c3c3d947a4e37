#include "src/gates/gate_service.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "src/core/action_catalogue.hpp"
#include "src/core/step.hpp"
#include <fmt/format.h>

namespace opsgate::gates {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using nlohmann::json;

// GCC 12: every co_await result goes to a named local; none inside a
// condition or an argument list.

namespace {

ActionRequest deploy_request(const GateRequest& r) {
  return ActionRequest("rollout.deploy", json{{"target", r.target}, {"env", r.env}, {"version", r.version}});
}

Principal requester_of(const Gate& gate) {
  Principal p;
  p.id = gate.requester;
  p.display_name = gate.requester;
  return p;
}

Step step_of(const Gate& gate) {
  Step step;
  step.event.platform = gate.platform.empty() ? "ci" : gate.platform;
  step.event.channel = gate.channel;
  step.event.thread = gate.thread;
  step.event.principal = requester_of(gate);
  step.request_id = gate.id;
  step.request = deploy_request(gate.request);
  step.parser = "gate";
  return step;
}

std::string what(const Gate& gate) {
  return "deploy " + gate.request.target + " " + gate.request.version + " to " + gate.request.env;
}

std::string join(const std::vector<std::string>& items) {
  return fmt::to_string(fmt::join(items, ", "));
}

// "60 min", or "45 s" for a gate shorter than a minute.
std::string minutes_of(const Gate& gate) {
  const std::int64_t seconds = (gate.expires_ms - gate.created_ms + 500) / 1000;
  if (seconds < 60) {
    return std::to_string(seconds) + " s";
  }
  return std::to_string((seconds + 30) / 60) + " min";
}

std::string first_line(const std::string& text, std::size_t limit = 300) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > limit) {
    line = line.substr(0, limit) + "…";
  }
  return line;
}

}  // namespace

std::string expiry_comment(const Gate& gate) {
  return "Expired: no approval within " + minutes_of(gate) + " (opsgate " + gate.id + ")";
}

GateService::GateService(GatesConfig config, GateServiceDeps deps, asio::any_io_executor executor)
    : config_(std::move(config)), deps_(std::move(deps)), wake_(std::move(executor)) {}

void GateService::add_notifier(std::unique_ptr<Notifier> notifier) {
  const std::string kind(notifier->kind());
  notifiers_[kind] = std::move(notifier);
}

std::int64_t GateService::now_ms() const { return to_unix_ms(deps_.clock.now()); }

void GateService::kick() {
  asio::post(wake_.get_executor(), [this] { wake_.cancel(); });
}

asio::awaitable<bool> GateService::record(const Gate& gate, std::string kind, std::string outcome, std::string detail) {
  const Step step = step_of(gate);
  const bool ok = co_await record_step(deps_.audit, deps_.clock, step, std::move(kind), std::move(outcome),
                                       std::move(detail));
  co_return ok;
}

asio::awaitable<Result<Created>> GateService::create(GateAsk ask) {
  const Inventory& inventory = *deps_.inventory;
  const Target* target = inventory.find_target(ask.request.target);
  const Environment* env = inventory.find_env(ask.request.env);
  if (target == nullptr) {
    co_return fail(Errc::invalid_input, "unknown target '" + ask.request.target + "' (known: " +
                                            join(inventory.target_names()) + ")");
  }
  if (env == nullptr) {
    co_return fail(Errc::invalid_input,
                   "unknown env '" + ask.request.env + "' (known: " + join(inventory.env_names()) + ")");
  }
  if (ask.request.version.empty()) {
    co_return fail(Errc::invalid_input, "version is required (the image tag to deploy)");
  }
  ask.request.target = target->name;
  ask.request.env = env->name;

  Gate gate;
  gate.client = ask.client;
  gate.source = ask.source;
  gate.dedup_key = ask.dedup_key;
  gate.body_hash = crypto::sha256_hex(request_json(ask.request).dump(-1, ' ', false, json::error_handler_t::replace));
  gate.request = ask.request;
  gate.requester = "ci:" + ask.client;
  gate.callback_kind = ask.callback_kind;
  gate.callback = ask.callback;
  if (!ask.request.triggered_by.empty()) {
    const auto linked = config_.identities.find(ask.request.triggered_by);
    if (linked != config_.identities.end()) {
      gate.triggered_principal = linked->second;
    } else if (ask.require_known_trigger) {
      co_return fail(Errc::invalid_input, "triggered_by '" + ask.request.triggered_by +
                                              "' is not in gates.identities; add it there or leave it out");
    }
  }
  const std::string client = gate.client;
  const std::string dedup = gate.dedup_key;
  auto existing = co_await deps_.store.by_key(client, dedup);
  if (!existing) {
    co_return tl::unexpected<Error>(existing.error());
  }
  if (existing->has_value()) {
    if ((*existing)->body_hash != gate.body_hash) {
      co_return fail(Errc::conflict, "the key " + dedup + " was used for gate " + (*existing)->id +
                                         " with a different request; use a new key for a new request");
    }
    co_return Created{**existing, false};
  }

  // The same decision as a chat `rollout.deploy` by this client.
  const auto now = deps_.clock.now();
  gate.created_ms = to_unix_ms(now);
  gate.id = new_gate_id(gate.created_ms);
  const auto channel = config_.channels.channel_for(gate.request.target, inventory);
  gate.platform = channel ? channel->platform : std::string{};
  gate.channel = channel ? channel->channel : std::string{};
  const auto policy = deps_.policy();
  const ActionSpec* spec = find_action("rollout.deploy");
  Decision decision;
  decision.explanation = "denied: rollout.deploy is not an action";
  const ActionRequest request = deploy_request(gate.request);
  if (spec != nullptr) {
    const RequestContext context{gate.platform, gate.channel, now};
    decision = policy->evaluate(requester_of(gate), *spec, request, context);
  }
  std::int64_t expiry_s = decision.effect == Effect::needs_approval ? decision.approval.expiry.count() : 3600;
  if (ask.request.timeout_s > 0) {
    expiry_s = std::min(expiry_s, ask.request.timeout_s);
  }
  if (ask.max_timeout_s > 0) {
    expiry_s = std::min(expiry_s, ask.max_timeout_s);
  }
  gate.expires_ms = gate.created_ms + std::max<std::int64_t>(1, expiry_s) * 1000;
  gate.rule_id = decision.approval.rule_id;
  gate.approvers = decision.approval.approvers;
  gate.quorum = decision.effect == Effect::needs_approval ? decision.approval.quorum : 0;

  std::string received = "gate " + gate.id + " via " + gate.source + ": " + what(gate) + " for " + gate.requester;
  if (!gate.request.commit.empty()) received += ", commit " + gate.request.commit;
  if (!gate.request.run_url.empty()) received += ", run " + gate.request.run_url;
  if (!gate.request.triggered_by.empty()) {
    received += ", triggered by " + gate.request.triggered_by +
                (gate.triggered_principal.empty() ? " (not linked)" : " (" + gate.triggered_principal + ")");
  }
  const bool received_ok = co_await record(gate, "received", "ok", received);
  const std::string rules = fmt::to_string(fmt::join(decision.rule_ids, ","));
  const std::string effect(to_string(decision.effect));
  const std::string decided_detail = decision.explanation + (rules.empty() ? "" : " [rules: " + rules + "]");
  bool decided_ok = false;
  if (received_ok) {
    decided_ok = co_await record(gate, "decided", effect, decided_detail);
  }
  if (!decided_ok) {
    co_return fail(Errc::storage, "the audit log cannot be written, so no gate was opened");
  }

  auto inserted = co_await deps_.store.insert(gate);
  if (!inserted) {
    co_return tl::unexpected<Error>(inserted.error());
  }
  if (!inserted->created) {
    co_return Created{inserted->gate, false};
  }

  // Rate limits, reserved under the gate's id as for a chat request.
  std::string refusal;
  if (decision.effect == Effect::deny) {
    refusal = "Rejected by policy: " + decision.explanation + " (opsgate " + gate.id + ")";
  } else if (!decision.rate_limits.empty()) {
    RateReservation reservation;
    reservation.request_id = gate.id;
    reservation.person = policy->person_of(gate.requester);
    reservation.action = "rollout.deploy";
    reservation.target = gate.request.target;
    reservation.checks = decision.rate_limits;
    reservation.now = now;
    auto verdict = co_await deps_.limiter.reserve(std::move(reservation));
    if (!verdict) {
      refusal = "Rejected: the rate limits cannot be checked (" + verdict.error().message + ") (opsgate " + gate.id + ")";
    } else if (!verdict->reserved) {
      refusal = "Rejected: rate limit " + verdict->exceeded.id + " reached (opsgate " + gate.id + ")";
    }
  }
  Gate result = inserted->gate;
  if (!refusal.empty()) {
    auto decided = co_await decide(result, GateState::rejected, "policy", refusal);
    if (decided) result = *decided;
  } else if (decision.effect == Effect::allow) {
    const std::string comment = "Approved by policy: " + decision.explanation + " (opsgate " + gate.id + ")";
    auto decided = co_await decide(result, GateState::approved, "policy", comment);
    if (decided) result = *decided;
  }
  kick();
  co_return Created{result, true};
}

asio::awaitable<Result<Gate>> GateService::get(std::string id) {
  auto gate = co_await deps_.store.get(id);
  co_return gate;
}

asio::awaitable<Result<Gate>> GateService::by_key(std::string client, std::string dedup_key) {
  auto found = co_await deps_.store.by_key(client, dedup_key);
  if (!found) {
    co_return tl::unexpected<Error>(found.error());
  }
  if (!found->has_value()) {
    co_return fail(Errc::not_found, "no gate for " + dedup_key);
  }
  co_return **found;
}

asio::awaitable<std::optional<Gate>> GateService::decide(Gate gate, GateState state, std::string by,
                                                         std::string comment) {
  const std::int64_t now = now_ms();
  std::int64_t deadline = gate.created_ms + std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::hours(24 * 30)).count();
  if (const auto n = notifiers_.find(gate.callback_kind); n != notifiers_.end()) {
    deadline = gate.created_ms + std::chrono::duration_cast<std::chrono::milliseconds>(n->second->lifetime()).count();
  }
  const std::string id = gate.id;
  auto decided = co_await deps_.store.decide(id, state, by, comment, now, deadline);
  if (!decided) {
    spdlog::error("[{}] gate: cannot record that it is {}: {}", id, to_string(state), decided.error().message);
    co_return std::nullopt;
  }
  if (!decided->has_value()) {
    co_return std::nullopt;  // decided before, by another path
  }
  const Gate& done = **decided;
  co_await record(done, "gate_decided", std::string(to_string(state)), comment);
  if (state != GateState::approved) {
    auto released = co_await deps_.limiter.release(id);
    (void)released;
  }
  kick();
  co_return done;
}

asio::awaitable<Result<Gate>> GateService::cancel(std::string id) {
  auto gate = co_await get(id);
  if (!gate) {
    co_return gate;
  }
  if (is_terminal(gate->state)) {
    co_return fail(Errc::conflict, "gate " + id + " is already " + std::string(to_string(gate->state)));
  }
  if (!gate->approval_id.empty()) {
    // The approval first: no vote may land between the two.
    const auto policy = deps_.policy();
    const auto now = deps_.clock.now();
    auto cancelled = co_await deps_.approvals.cancel(gate->approval_id, requester_of(*gate), policy, now);
    if (cancelled && cancelled->result == VoteResult::refused) {
      auto again = co_await get(id);
      if (again && is_terminal(again->state)) {
        co_return fail(Errc::conflict, "gate " + id + " is already " + std::string(to_string(again->state)));
      }
    }
  }
  const std::string comment = "Cancelled by the pipeline (opsgate " + id + ")";
  const std::string by = gate->requester;
  auto decided = co_await decide(*gate, GateState::cancelled, by, comment);
  if (!decided) {
    auto again = co_await get(id);
    if (again && is_terminal(again->state)) {
      co_return fail(Errc::conflict, "gate " + id + " is already " + std::string(to_string(again->state)));
    }
    co_return fail(Errc::storage, "could not record the cancellation of " + id);
  }
  co_await tell_thread(*decided, "⏹ Gate " + id + " (" + what(*decided) + ") was cancelled by the pipeline.",
                       "cancelled");
  co_return *decided;
}

asio::awaitable<void> GateService::tell_thread(Gate gate, std::string text, std::string outcome) {
  if (gate.thread.empty()) {
    co_return;
  }
  Adapter* adapter = deps_.adapters(gate.platform);
  if (adapter == nullptr) {
    co_return;
  }
  OutboundMessage message;
  message.platform = gate.platform;
  message.channel = gate.channel;
  message.thread = gate.thread;
  message.request_id = gate.id;
  message.text = std::move(text);
  if (!outcome.empty() && !gate.approval_id.empty()) {
    message.approval_id = gate.approval_id;
    message.approval_outcome = outcome;
    message.approval_outcome_text = gate.comment;
  }
  try {
    co_await adapter->send(std::move(message));
  } catch (const std::exception& e) {
    spdlog::error("[{}] gate: could not post in {}:{}: {}", gate.id, gate.platform, gate.channel, e.what());
  }
}

asio::awaitable<std::optional<std::string>> GateService::decided(std::string approval_id, std::string outcome,
                                                                 std::string detail) {
  auto found = co_await deps_.store.by_approval(approval_id);
  if (!found || !found->has_value()) {
    co_return std::nullopt;
  }
  Gate gate = **found;
  auto approval = co_await deps_.approvals.get(approval_id);
  std::string by = approval ? approval->decided_by : std::string{};
  GateState state = GateState::rejected;
  std::string comment;
  std::string text;
  if (outcome == "granted") {
    state = GateState::approved;
    by = approval ? join(approval->approved_by) : detail;
    comment = "Approved by " + by + " via opsgate (" + gate.id + ")";
    text = "✅ Gate " + gate.id + " approved by " + by + ": the pipeline may " + what(gate) + ".";
  } else if (outcome == "expired") {
    state = GateState::expired;
    by = "opsgate";
    comment = expiry_comment(gate);
    text = "⌛ Gate " + gate.id + " expired: no approval within " + minutes_of(gate) + ", so the pipeline run (" +
           what(gate) + ") is rejected.";
  } else if (outcome == "cancelled") {
    state = GateState::cancelled;
    comment = "Cancelled (opsgate " + gate.id + ")";
    text = "⏹ Gate " + gate.id + " (" + what(gate) + ") was cancelled.";
  } else {
    comment = "Rejected: " + detail + " (opsgate " + gate.id + ")";
    text = "🚫 Gate " + gate.id + " rejected (" + detail + "): the pipeline run stops; nothing is deployed.";
  }
  if (approval && !approval->reason.empty() && state == GateState::rejected && detail.find(approval->reason) == std::string::npos) {
    comment = "Rejected by " + by + ": " + approval->reason + " (opsgate " + gate.id + ")";
  }
  auto done = co_await decide(gate, state, by, comment);
  if (!done) {
    auto now_gate = co_await get(gate.id);
    if (now_gate && now_gate->state != state) {
      text += " (The gate was already " + std::string(to_string(now_gate->state)) + ".)";
    }
  }
  co_return text;
}

asio::awaitable<json> GateService::to_json(Gate gate) {
  json approvals = json::array();
  if (!gate.approval_id.empty()) {
    auto approval = co_await deps_.approvals.get(gate.approval_id);
    if (approval) {
      approvals = approval->approved_by;
    }
  }
  auto nullable = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  json j = {{"id", gate.id},
            {"url", config_.public_url + "/api/v1/gates/" + gate.id},
            {"state", to_string(gate.state)},
            {"target", gate.request.target},
            {"env", gate.request.env},
            {"version", gate.request.version},
            {"requester", gate.requester},
            {"triggered_by", nullable(gate.request.triggered_by)},
            {"created_at", iso8601(gate.created_ms)},
            {"expires_at", iso8601(gate.expires_ms)},
            {"decided_at", gate.decided_ms == 0 ? json(nullptr) : json(iso8601(gate.decided_ms))},
            {"decided_by", nullable(gate.decided_by)},
            {"comment", nullable(gate.comment)},
            {"approvals_required", gate.quorum},
            {"approvals", approvals},
            {"chat", gate.thread.empty() ? json(nullptr)
                                         : json{{"platform", gate.platform},
                                                {"channel", gate.channel},
                                                {"thread_ts", gate.thread}}}};
  for (const char* key : {"commit", "change_url", "summary", "run_url"}) {
    const json request = request_json(gate.request);
    if (request.contains(key)) {
      j[key] = request[key];
    }
  }
  co_return j;
}

asio::awaitable<std::optional<std::string>> GateService::read_summary(std::string name, json params) {
  Action* action = deps_.actions.find(name);
  if (action == nullptr) {
    co_return std::nullopt;
  }
  std::optional<std::string> out;
  try {
    const auto executor = co_await asio::this_coro::executor;
    const ActionRequest request(name, std::move(params));
    asio::steady_timer deadline(executor, config_.context_timeout);
    auto outcome = co_await (action->execute(request) || deadline.async_wait(asio::use_awaitable));
    if (outcome.index() == 0) {
      const auto& result = std::get<0>(outcome);
      out = result ? first_line(result->summary) : "unknown (" + result.error().message + ")";
    } else {
      out = "unknown (no answer within " + std::to_string(config_.context_timeout.count()) + " s)";
    }
  } catch (const std::exception& e) {
    out = std::string("unknown (") + e.what() + ")";
  }
  co_return out;
}

asio::awaitable<std::string> GateService::context_text(const Gate& gate) {
  std::string text;
  const json where = {{"target", gate.request.target}, {"env", gate.request.env}};
  auto status = co_await read_summary("rollout.status", where);
  if (status) {
    text += "\nRunning now: " + *status;
  }
  if (config_.show_metrics) {
    json error_rate = where;
    error_rate["metric"] = "error_rate";
    error_rate["range_s"] = 300;
    auto errors = co_await read_summary("metrics.query", error_rate);
    if (errors && errors->rfind("unknown", 0) == 0) {
      text += "\nNow in " + gate.request.env + ": error rate and latency " + *errors;
    } else if (errors) {
      json latency = where;
      latency["metric"] = "latency_p99";
      latency["range_s"] = 300;
      auto slow = co_await read_summary("metrics.query", latency);
      text += "\nNow in " + gate.request.env + ": " + *errors + (slow ? "; " + *slow : std::string{});
    }
  }
  co_return text;
}

asio::awaitable<void> GateService::announce(Gate gate) {
  if (gate.platform.empty()) {
    if (warned_.insert(gate.id).second) {
      spdlog::warn("[{}] gate: no channel for target {} (gates.channels); nobody can vote on it", gate.id,
                   gate.request.target);
    }
    co_return;
  }
  Adapter* adapter = deps_.adapters(gate.platform);
  if (adapter == nullptr) {
    if (warned_.insert(gate.id).second) {
      spdlog::warn("[{}] gate: no adapter for platform '{}' (gates.channels)", gate.id, gate.platform);
    }
    co_return;
  }
  const std::int64_t now = now_ms();
  if (gate.approval_id.empty()) {
    ApprovalDraft draft;
    draft.origin_request_id = gate.id;
    draft.requester = requester_of(gate);
    draft.platform = gate.platform;
    draft.channel = gate.channel;
    draft.request = deploy_request(gate.request);
    draft.requirement.rule_id = gate.rule_id;
    draft.requirement.approvers = gate.approvers;
    draft.requirement.quorum = std::max(1, gate.quorum);
    draft.requirement.expiry = std::chrono::seconds(std::max<std::int64_t>(1, (gate.expires_ms - now) / 1000));
    draft.now = deps_.clock.now();
    if (!gate.triggered_principal.empty()) {
      draft.co_requesters.push_back(gate.triggered_principal);
    }
    auto created = co_await deps_.approvals.create(std::move(draft));
    if (!created) {
      co_await record(gate, "approval_requested", "error", created.error().message);
      co_return;
    }
    const std::string id = gate.id;
    const std::string approval_id = created->id;
    auto stored = co_await deps_.store.set_approval(id, approval_id);
    if (!stored) {
      spdlog::error("[{}] gate: cannot store its approval {}: {}", id, approval_id, stored.error().message);
      co_return;
    }
    gate.approval_id = approval_id;
    const std::string detail = "approval " + approval_id + " by " + std::to_string(created->requirement.quorum) +
                               " of " + join(created->requirement.approvers) + ", expires in " + minutes_of(gate) +
                               ", hash " + created->request_hash.substr(0, 16) +
                               (gate.triggered_principal.empty() ? "" : ", also not " + gate.triggered_principal);
    co_await record(gate, "approval_requested", "pending", detail);
  }
  std::string text = "🚦 Deployment gate " + gate.id + ": " + what(gate) + "\nRequested by " + gate.requester;
  if (!gate.request.triggered_by.empty()) {
    text += ", triggered by " + gate.request.triggered_by +
            (gate.triggered_principal.empty() ? "" : " (" + gate.triggered_principal + ")");
  }
  if (!gate.request.run_url.empty()) text += "\nPipeline run: " + gate.request.run_url;
  if (!gate.request.commit.empty()) text += "\nCommit: " + gate.request.commit;
  if (!gate.request.change_url.empty()) text += "\nChange: " + gate.request.change_url;
  if (!gate.request.summary.empty()) text += "\nSummary: " + first_line(gate.request.summary, 500);
  const std::string context = co_await context_text(gate);
  text += context;
  text += "\nNeeds " + std::to_string(std::max(1, gate.quorum)) + " approval(s) from " + join(gate.approvers) +
          "; expires " + iso8601(gate.expires_ms) + " (" + minutes_of(gate) + "). Approval id " +
          gate.approval_id + "; " + gate.requester +
          (gate.triggered_principal.empty() ? "" : " and " + gate.triggered_principal) + " cannot approve it.";
  OutboundMessage message;
  message.platform = gate.platform;
  message.channel = gate.channel;
  message.request_id = gate.id;
  message.text = text;
  message.approval_id = gate.approval_id;
  Result<std::string> posted = fail(Errc::internal, "not posted");
  try {
    posted = co_await adapter->post(std::move(message));
  } catch (const std::exception& e) {
    posted = fail(Errc::unavailable, e.what());
  }
  if (!posted) {
    if (warned_.insert(gate.id).second) {
      spdlog::warn("[{}] gate: posting in {}:{} failed (retrying): {}", gate.id, gate.platform, gate.channel,
                   posted.error().message);
    }
    co_return;
  }
  const std::string thread = *posted;
  const std::string approval_id = gate.approval_id;
  auto attached = co_await deps_.approvals.attach_thread(approval_id, thread);
  if (!attached) {
    spdlog::error("[{}] gate: cannot attach thread to approval {}: {}", gate.id, approval_id, attached.error().message);
  }
  const std::string id = gate.id;
  const std::string platform = gate.platform;
  const std::string channel = gate.channel;
  co_await deps_.store.set_thread(id, platform, channel, thread);
  gate.thread = thread;
  co_await record(gate, "replied", "ok", "gate posted in " + platform + ":" + channel);
}

asio::awaitable<void> GateService::tick() {
  auto pending = co_await deps_.store.pending();
  if (!pending) {
    spdlog::error("gates: cannot read pending gates: {}", pending.error().message);
    co_return;
  }
  const std::int64_t now = now_ms();
  bool past_due = false;
  for (const auto& gate : *pending) {
    past_due = past_due || now >= gate.expires_ms;
  }
  if (past_due && deps_.expire_approvals) {
    // The workflow expires the approvals and tells their threads; decided()
    // moves the gates.
    co_await deps_.expire_approvals();
    pending = co_await deps_.store.pending();
    if (!pending) {
      co_return;
    }
  }
  for (const auto& gate : *pending) {
    if (now >= gate.expires_ms) {
      // Expired without an approval to expire (never posted, or the approval
      // ended otherwise): the gate expires on its own.
      auto done = co_await decide(gate, GateState::expired, "opsgate", expiry_comment(gate));
      if (done) {
        co_await tell_thread(*done, "⌛ Gate " + gate.id + " expired: no approval within " + minutes_of(gate) +
                                        " min, so the pipeline run is rejected.",
                             "");
      }
      continue;
    }
    if (gate.approval_id.empty() || gate.thread.empty()) {
      co_await announce(gate);
      continue;
    }
    // Decided while opsgate was not looking (a restart between the vote and
    // the gate's update): the approval's state is the truth.
    auto approval = co_await deps_.approvals.get(gate.approval_id);
    if (!approval || approval->state == "pending") {
      continue;
    }
    const std::string state = approval->state;
    if (state == "granted" || state == "executed") {
      const std::string by = join(approval->approved_by);
      co_await decide(gate, GateState::approved, by, "Approved by " + by + " via opsgate (" + gate.id + ")");
    } else if (state == "expired") {
      co_await decide(gate, GateState::expired, "opsgate", expiry_comment(gate));
    } else if (state == "cancelled") {
      co_await decide(gate, GateState::cancelled, approval->decided_by, "Cancelled (opsgate " + gate.id + ")");
    } else {
      const std::string why = state == "failed" ? "opsgate stopped while granting it; ask again" : approval->reason;
      co_await decide(gate, GateState::rejected, approval->decided_by,
                      "Rejected: " + state + (why.empty() ? "" : ": " + why) + " (opsgate " + gate.id + ")");
    }
  }
  co_await deliver_due();
}

asio::awaitable<void> GateService::deliver_due() {
  const std::int64_t now = now_ms();
  auto due = co_await deps_.store.due(now);
  if (!due) {
    spdlog::error("gates: cannot read the callback outbox: {}", due.error().message);
    co_return;
  }
  for (const auto& delivery : *due) {
    const std::string gate_id = delivery.gate_id;
    auto gate = co_await get(gate_id);
    if (!gate) {
      continue;
    }
    const auto notifier = notifiers_.find(gate->callback_kind);
    const std::int64_t row = delivery.id;
    if (notifier == notifiers_.end()) {
      const std::string why = "no notifier for '" + gate->callback_kind + "' is configured";
      co_await deps_.store.give_up(row, why);
      co_await record(*gate, "gate_notified", "error", why);
      continue;
    }
    json body = co_await to_json(*gate);
    DeliveryOutcome outcome;
    try {
      outcome = co_await notifier->second->deliver(*gate, std::move(body));
    } catch (const std::exception& e) {
      outcome = DeliveryOutcome{DeliveryOutcome::Kind::retry, std::string("internal error: ") + e.what(), {}};
    }
    const std::int64_t after = now_ms();
    const std::string kind = gate->callback_kind;
    if (outcome.kind == DeliveryOutcome::Kind::done) {
      co_await deps_.store.delivered(row, after);
      co_await record(*gate, "gate_notified", "ok", kind + ": " + outcome.detail);
      continue;
    }
    const bool dead = outcome.kind == DeliveryOutcome::Kind::terminal || after >= delivery.deadline_ms;
    if (dead) {
      const std::string why = outcome.detail + (outcome.kind == DeliveryOutcome::Kind::terminal ? "" : "; gave up");
      co_await deps_.store.give_up(row, why);
      co_await record(*gate, "gate_notified", "error", kind + ": " + why);
      co_await tell_thread(*gate, "❌ I could not tell the pipeline (" + kind + ") that gate " + gate->id + " is " +
                                      std::string(to_string(gate->state)) + ": " + why,
                           "");
      continue;
    }
    // The schedule lives in the outbox row (attempts), so the pause is computed
    // from it; a pipeline's Retry-After replaces it.
    const net::Backoff backoff({std::chrono::seconds(1), config_.max_backoff});
    const double unit = deps_.random ? deps_.random() : net::default_unit_random();
    const std::chrono::milliseconds pause = outcome.retry_after.count() > 0
                                                ? std::chrono::milliseconds(outcome.retry_after)
                                                : backoff.delay(delivery.attempts, unit);
    const bool alert = !delivery.alerted && after - delivery.first_ms >= config_.alert_after.count() * 1000;
    const std::int64_t next = after + pause.count();
    const std::string why = outcome.detail;
    const bool alerted = delivery.alerted || alert;
    co_await deps_.store.retry_at(row, next, why, alerted);
    if (delivery.attempts == 0) {
      co_await record(*gate, "gate_notified", "retry", kind + ": " + why);
    }
    if (alert) {
      co_await tell_thread(*gate, "⚠ I keep failing to tell the pipeline (" + kind + ") that gate " + gate->id +
                                      " is " + std::string(to_string(gate->state)) + ": " + why + ". Still retrying.",
                           "");
    }
  }
}

asio::awaitable<void> GateService::run() {
  for (;;) {
    try {
      co_await tick();
    } catch (const std::exception& e) {
      spdlog::error("gates: a pass failed: {}", e.what());
    }
    wake_.expires_after(config_.tick);
    auto [ec] = co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
    const auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) {
      co_return;
    }
  }
}

}  // namespace opsgate::gates
