#include "actions/kubernetes/kube_action.hpp"

#include <algorithm>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "actions/kubernetes/kube_rollout.hpp"
#include "src/core/duration.hpp"

namespace opsgate::actions::kubernetes {

namespace asio = boost::asio;
using nlohmann::json;

namespace {
constexpr int kMaxFollowErrors = 3;
}  // namespace

asio::awaitable<Result<ActionResult>> KubeAction::execute(ActionRequest request) {
  auto place = backend_->place(request);
  if (!place) {
    co_return tl::unexpected(place.error());
  }
  const Place p = *place;
  // 409 Conflict: retried once, after a fresh GET (each attempt starts with one).
  Result<ActionResult> result = fail(Errc::internal, "not run");
  for (int attempt = 0; attempt < 2; ++attempt) {
    result = co_await apply(request, p, false);
    if (result || result.error().code != Errc::conflict) {
      break;
    }
  }
  co_return result;
}

// The preview is the same function run with dryRun=All: the answer is what
// the API server would store, compared with the live object.
asio::awaitable<Result<std::optional<ActionPreview>>> KubeAction::preview(ActionRequest request) {
  if (!writes()) {
    co_return std::optional<ActionPreview>{};
  }
  auto place = backend_->place(request);
  if (!place) {
    co_return tl::unexpected(place.error());
  }
  const Place p = *place;
  auto dry = co_await apply(request, p, true);
  if (!dry) {
    co_return tl::unexpected(dry.error());
  }
  ActionPreview preview;
  preview.text = dry->summary;
  preview.nothing_to_do = !dry->data.value("changed", false);
  preview.data = dry->data;
  const json fingerprint = dry->data.value("fingerprint", json::object());
  preview.fingerprint = dump(fingerprint);
  co_return std::optional<ActionPreview>(std::move(preview));
}

asio::awaitable<std::optional<FollowOutcome>> KubeAction::follow(ActionRequest request, ActionResult result) {
  if (!writes() || !result.data.value("changed", false)) {
    co_return std::optional<FollowOutcome>{};
  }
  auto place = backend_->place(request);
  if (!place) {
    co_return std::optional<FollowOutcome>{};
  }
  const Place p = *place;
  auto outcome = co_await follow_rollout(p);
  co_return std::optional<FollowOutcome>(std::move(outcome));
}

// Polls the Deployment until kubectl's status logic says done or failed,
// at most follow_timeout / follow_interval + 1 times. A paused Deployment
// does not roll out, so it is answered at once.
asio::awaitable<FollowOutcome> KubeAction::follow_rollout(Place p) {
  const auto& config = backend_->config;
  const auto started = backend_->clock->now();
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  const auto polls = config.follow_timeout / std::max(config.follow_interval, std::chrono::milliseconds(1)) + 1;
  int errors = 0;
  std::string last = "no answer yet";
  json last_live;
  for (std::int64_t i = 0; i < polls; ++i) {
    if (i > 0) {
      timer.expires_after(config.follow_interval);
      co_await timer.async_wait(asio::use_awaitable);
    }
    auto live = co_await get_deployment(p);
    if (!live) {
      last = live.error().message;
      if (++errors >= kMaxFollowErrors) {
        break;
      }
      continue;
    }
    errors = 0;
    last_live = *live;
    const RolloutStatus s = rollout_status(*live);
    last = s.message;
    const auto elapsed_s =
        std::chrono::duration_cast<std::chrono::seconds>(backend_->clock->now() - started).count();
    FollowOutcome outcome;
    outcome.data = {{"state", s.state == RolloutState::done ? "done" : "failed"}, {"message", s.message},
                    {"desired", s.desired},
                    {"updated", s.updated},
                    {"available", s.available},
                    {"elapsed_s", elapsed_s},
                    {"images", images_text(*live)},
                    {"revision", revision_of(*live).value_or(0)}};
    if (s.state == RolloutState::done) {
      outcome.ok = true;
      outcome.summary = p.target + " rolled out in " + format_duration(elapsed_s) + " in " + p.env + " (" +
                        std::to_string(s.available) + "/" + std::to_string(s.desired) + " available)";
      co_return outcome;
    }
    if (at_or(*live, "/spec/paused", false)) {
      outcome.data["state"] = "paused";
      outcome.summary = "⏸ " + p.target + " in " + p.env + " is paused: the change is saved but does not roll out "
                        "until the rollout is resumed (`kubectl rollout resume deployment/" + p.deployment + " -n " +
                        p.namespace_name + "`)";
      co_return outcome;
    }
    if (s.state == RolloutState::failed) {
      const json current = *live;
      const NextStep next = co_await next_step(p, current);
      outcome.summary = "⚠ " + p.target + " in " + p.env + " failed to roll out: " +
                        (s.failure.empty() ? s.message : s.failure) + " — " +
                        (next.rollback ? "consider `" + next.rollback->command + "`" : next.instead);
      if (next.rollback) {
        outcome.suggestions.push_back(*next.rollback);
      }
      co_return outcome;
    }
  }
  FollowOutcome outcome;
  outcome.data = {{"state", "timeout"}, {"message", last}};
  const Suggestion status{"Status of " + p.target, "!status " + p.target + " " + p.env};
  std::string advice = "check `" + status.command + "`";
  if (last_live.is_object()) {
    const NextStep next = co_await next_step(p, last_live);
    if (next.rollback) {
      advice += " or consider `" + next.rollback->command + "`";
      outcome.suggestions.push_back(*next.rollback);
    } else {
      advice += "; " + next.instead;
    }
  }
  outcome.summary = "⚠ " + p.target + " in " + p.env + " had not rolled out after " +
                    format_duration(std::chrono::duration_cast<std::chrono::seconds>(config.follow_timeout).count()) +
                    ": " + last + " — " + advice;
  outcome.suggestions.push_back(status);
  co_return outcome;
}


}  // namespace opsgate::actions::kubernetes
