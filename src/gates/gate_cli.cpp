#include "src/gates/gate_cli.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "src/core/duration.hpp"
#include "src/core/encoding.hpp"
#include "src/net/backoff.hpp"
#include "src/net/http_client.hpp"

namespace opsgate::gates {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;
using nlohmann::json;

namespace {

constexpr const char* kFooter = R"(
Asks opsgate for a deployment gate and waits for the decision made in chat.
Exit status: 0 approved; 1 rejected, expired or cancelled; 2 error (usage,
authentication, scope, opsgate unreachable past the deadline).

--idempotency-key defaults to one from CI variables (GITHUB_RUN_ID and
GITHUB_RUN_ATTEMPT, CI_JOB_ID, BUILD_BUILDID and SYSTEM_JOBATTEMPT,
BUILD_URL), else a random one. Without OPSGATE_TOKEN against the local demo
(http://127.0.0.1:8088), the demo client's token from config/demo.yaml is used.)";

constexpr const char* kDemoServer = "http://127.0.0.1:8088";
constexpr const char* kDemoToken = "demo-gate-token-not-a-secret";

struct Options {
  std::string server;
  std::string token_env = "OPSGATE_TOKEN";
  json body = json::object();
  std::int64_t timeout_s = 0;
  std::string key;
  bool json_out = false;
};

std::string env_or(const char* name, const std::string& fallback = {}) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

std::string default_key() {
  if (const std::string run = env_or("GITHUB_RUN_ID"); !run.empty()) {
    return "github-" + run + "-" + env_or("GITHUB_RUN_ATTEMPT", "1");
  }
  if (const std::string job = env_or("CI_JOB_ID"); !job.empty()) {
    return "gitlab-" + job;
  }
  if (const std::string build = env_or("BUILD_BUILDID"); !build.empty()) {
    return "azure-" + build + "-" + env_or("SYSTEM_JOBATTEMPT", "1");
  }
  if (const std::string url = env_or("BUILD_URL"); !url.empty()) {
    return "jenkins-" + url;
  }
  std::random_device random;
  std::string bytes;
  for (int i = 0; i < 12; ++i) {
    bytes += static_cast<char>(random() & 0xff);
  }
  return "cli-" + encoding::hex_encode(bytes);
}

int usage(const std::string& error) {
  std::fprintf(stderr, "opsgate gate request: %s\nRun `opsgate gate request --help` for its options.\n", error.c_str());
  return 2;
}

std::string error_text(const net::HttpClientResponse& response) {
  const json body = json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    std::string text = body["error"].value("message", "");
    if (body["error"].contains("details") && body["error"]["details"].is_array()) {
      for (const auto& d : body["error"]["details"]) {
        if (d.is_string() && text.find(d.get<std::string>()) == std::string::npos) {
          text += "\n  - " + d.get<std::string>();
        }
      }
    }
    return text;
  }
  return "HTTP " + std::to_string(response.status);
}

struct Run {
  Options options;
  std::string token;
  int exit_code = 2;
  std::string gate_url;  // API URL of the gate, once created
  bool interrupted = false;
};

std::string progress_line(const json& gate) {
  const std::string state = gate.value("state", "?");
  std::string line = "  " + state;
  if (state == "pending") {
    const auto approvals = gate.contains("approvals") && gate["approvals"].is_array() ? gate["approvals"].size() : 0;
    line += ": " + std::to_string(approvals) + " of " + std::to_string(gate.value("approvals_required", 1)) +
            " approval(s); expires " + gate.value("expires_at", "?");
    if (gate.contains("chat") && gate["chat"].is_object()) {
      line += "; vote in " + gate["chat"].value("platform", "") + ":" + gate["chat"].value("channel", "");
    }
  }
  return line;
}

std::string final_message(const json& gate) {
  const std::string state = gate.value("state", "?");
  const std::string id = gate.value("id", "");
  const std::string what = gate.value("target", "") + " " + gate.value("version", "") + " to " + gate.value("env", "");
  const std::string by = gate["decided_by"].is_string() ? gate["decided_by"].get<std::string>() : std::string("?");
  const std::string comment = gate["comment"].is_string() ? gate["comment"].get<std::string>() : std::string{};
  if (state == "approved") return "APPROVED: " + what + " may deploy (gate " + id + ", approved by " + by + ")";
  if (state == "rejected") return "REJECTED: do not deploy " + what + " (gate " + id + ", " + comment + ")";
  if (state == "expired") return "EXPIRED: nobody approved " + what + " in time; do not deploy (gate " + id + ")";
  if (state == "cancelled") return "CANCELLED: gate " + id + " for " + what + " was cancelled";
  return "gate " + id + " is " + state;
}

// After a call that did not succeed: an answer from `refused_from` up to 499
// but 429 is a refusal, said once; otherwise the next backoff pause, said
// with `verb`, unless it would end past give_up_at. nullopt: stop (exit 2).
std::optional<std::chrono::milliseconds> pause_after(const Result<net::HttpClientResponse>& answer, int refused_from,
                                                     const std::string& server, const char* verb,
                                                     net::Backoff& backoff,
                                                     std::chrono::steady_clock::time_point give_up_at) {
  if (answer && answer->status >= refused_from && answer->status < 500 && answer->status != 429) {
    std::fprintf(stderr, "opsgate gate: refused (HTTP %d): %s\n", answer->status, error_text(*answer).c_str());
    return std::nullopt;
  }
  const std::string why = answer ? "HTTP " + std::to_string(answer->status) : answer.error().message;
  const auto wait = backoff.next();
  if (std::chrono::steady_clock::now() + wait > give_up_at) {
    std::fprintf(stderr, "opsgate gate: cannot reach %s: %s; giving up\n", server.c_str(), why.c_str());
    return std::nullopt;
  }
  std::fprintf(stderr, "opsgate gate: %s: %s; %s in %.1fs\n", server.c_str(), why.c_str(), verb,
               static_cast<double>(wait.count()) / 1000.0);
  return wait;
}

asio::awaitable<void> run_gate(Run* run, net::HttpClient* http) {
  const Options& o = run->options;
  const auto started = std::chrono::steady_clock::now();
  const auto give_up_at = started + std::chrono::seconds(o.timeout_s > 0 ? o.timeout_s + 60 : 24 * 3600);
  const auto executor = co_await asio::this_coro::executor;
  asio::steady_timer pause(executor);
  std::vector<std::pair<std::string, std::string>> auth = {{"Authorization", "Bearer " + run->token},
                                                           {"Content-Type", "application/json"}};
  // Create, retrying while opsgate is unreachable.
  json gate;
  net::Backoff backoff({std::chrono::seconds(1), std::chrono::seconds(30)});
  for (;;) {
    net::HttpClientRequest request;
    request.method = "POST";
    request.url = o.server + "/api/v1/gates";
    request.headers = auth;
    request.headers.emplace_back("Idempotency-Key", o.key);
    request.body = o.body.dump(-1, ' ', false, json::error_handler_t::replace);
    request.timeout = std::chrono::seconds(30);
    auto answer = co_await http->send(std::move(request));
    if (answer && (answer->status == 200 || answer->status == 201)) {
      gate = json::parse(answer->body, nullptr, false);
      break;
    }
    const auto wait = pause_after(answer, 0, o.server, "retrying", backoff, give_up_at);
    if (!wait) {
      run->exit_code = 2;
      co_return;
    }
    pause.expires_after(*wait);
    co_await pause.async_wait(asio::use_awaitable);
  }
  if (!gate.is_object()) {
    std::fprintf(stderr, "opsgate gate: the server answered something that is not a gate\n");
    co_return;
  }
  const std::string id = gate.value("id", "");
  run->gate_url = o.server + "/api/v1/gates/" + id;
  std::fprintf(stderr, "Gate %s: %s\n", id.c_str(), gate.value("url", run->gate_url).c_str());
  std::string last = progress_line(gate);
  std::fprintf(stderr, "%s\n", last.c_str());
  backoff.reset();
  while (gate.value("state", "pending") == "pending") {
    // The gate expires on the server at --timeout; a minute more for the news to arrive.
    if (o.timeout_s > 0 && std::chrono::steady_clock::now() - started >= std::chrono::seconds(o.timeout_s + 60)) {
      std::fprintf(stderr, "opsgate gate: no decision within --timeout; cancelling gate %s\n", id.c_str());
      run->interrupted = true;
      break;
    }
    net::HttpClientRequest request;
    request.url = run->gate_url + "?wait=30s";
    request.headers = auth;
    request.timeout = std::chrono::seconds(45);
    auto answer = co_await http->send(std::move(request));
    if (answer && answer->status == 200) {
      const json fresh = json::parse(answer->body, nullptr, false);
      if (fresh.is_object()) {
        gate = fresh;
        const std::string line = progress_line(gate);
        if (line != last && gate.value("state", "") == "pending") {
          std::fprintf(stderr, "%s\n", line.c_str());
        }
        last = line;
        backoff.reset();
        continue;
      }
    }
    const auto wait = pause_after(answer, 400, o.server, "reconnecting", backoff, give_up_at);
    if (!wait) {
      run->exit_code = 2;
      co_return;
    }
    pause.expires_after(*wait);
    co_await pause.async_wait(asio::use_awaitable);
  }
  if (run->interrupted && gate.value("state", "pending") == "pending") {
    net::HttpClientRequest request;
    request.method = "POST";
    request.url = run->gate_url + "/cancel";
    request.headers = auth;
    request.timeout = std::chrono::seconds(10);
    auto answer = co_await http->send(std::move(request));
    if (answer && answer->status == 200) {
      gate = json::parse(answer->body, nullptr, false);
    } else if (answer && answer->status == 409) {
      // Decided meanwhile: report what it became.
      net::HttpClientRequest read;
      read.url = run->gate_url;
      read.headers = auth;
      auto fresh = co_await http->send(std::move(read));
      if (fresh && fresh->status == 200) {
        gate = json::parse(fresh->body, nullptr, false);
      }
    }
  }
  if (!gate.is_object()) {
    run->exit_code = 2;
    co_return;
  }
  const std::string state = gate.value("state", "");
  std::fprintf(stderr, "%s\n", final_message(gate).c_str());
  if (o.json_out) {
    std::printf("%s\n", gate.dump(2).c_str());
  }
  run->exit_code = state == "approved" ? 0 : state == "pending" ? 2 : 1;
}

asio::awaitable<void> cancel_gate(std::string gate_url, std::string token, net::HttpClient* http, int* status) {
  net::HttpClientRequest request;
  request.method = "POST";
  request.url = gate_url + "/cancel";
  request.headers = {{"Authorization", "Bearer " + token}};
  request.timeout = std::chrono::seconds(10);
  auto answer = co_await http->send(std::move(request));
  *status = answer ? answer->status : 0;
}

}  // namespace

namespace {

// Runs `opsgate gate request` with the parsed options; returns the exit code.
int request_gate(Run run) {
  Options& o = run.options;
  if (o.server.empty()) {
    o.server = env_or("OPSGATE_URL", kDemoServer);
  }
  while (!o.server.empty() && o.server.back() == '/') {
    o.server.pop_back();
  }
  run.token = env_or(o.token_env.c_str());
  if (run.token.empty()) {
    if (o.server != kDemoServer) {
      return usage("no token: set " + o.token_env + " to this CI client's token (gates.clients.<name>.token)");
    }
    std::fprintf(stderr, "opsgate gate: %s is not set; using the demo client's token\n", o.token_env.c_str());
    run.token = kDemoToken;
  }
  if (o.key.empty()) {
    o.key = default_key();
  }

  asio::io_context io(1);
  net::HttpClient http;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::cancellation_signal stop;
  bool done = false;
  asio::co_spawn(io, run_gate(&run, &http), asio::bind_cancellation_slot(stop.slot(), [&](std::exception_ptr e) {
                   done = true;
                   signals.cancel();
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       if (!run.interrupted) {
                         std::fprintf(stderr, "opsgate gate: %s\n", ex.what());
                         run.exit_code = 2;
                       }
                     }
                   }
                 }));
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec || done) {
      return;
    }
    run.interrupted = true;
    stop.emit(asio::cancellation_type::terminal);
  });
  io.run();
  if (run.interrupted && !run.gate_url.empty() && run.exit_code == 2) {
    // Interrupted while waiting: cancel the gate so nobody approves a run that is gone.
    asio::io_context again(1);
    int status = 0;
    asio::co_spawn(again, cancel_gate(run.gate_url, run.token, &http, &status), asio::detached);
    again.run();
    std::fprintf(stderr, "opsgate gate: interrupted; %s\n",
                 status == 200 ? "the gate was cancelled" : "could not cancel the gate (it expires on its own)");
    return 1;
  }
  return run.exit_code;
}

// "--timeout": a duration such as 60m or 3600s.
const CLI::Validator kDuration(
    [](std::string& value) -> std::string {
      const auto seconds = parse_duration_seconds(value);
      return seconds && *seconds > 0 ? "" : "expected a duration such as 60m or 3600s, got '" + value + "'";
    },
    "DURATION");

}  // namespace

void add_gate_commands(CLI::App& app, std::function<int()>& run) {
  CLI::App* gate = app.add_subcommand("gate", "ask for a deployment gate from a CI pipeline and wait for the vote");
  gate->require_subcommand(1);
  CLI::App* request = gate->add_subcommand("request", "ask for a gate and wait for the decision made in chat");
  request->footer(kFooter);
  request->allow_extras();  // the caller reports unknown flags, naming this command
  auto chosen = std::make_shared<Run>();
  Options& o = chosen->options;
  auto field = [request, chosen](const std::string& flag, const std::string& key, const std::string& what) {
    return request->add_option_function<std::string>(
        flag, [chosen, key](const std::string& value) { chosen->options.body[key] = value; }, what);
  };
  field("--target", "target", "the inventory target to deploy")->required();
  field("--env", "env", "the environment")->required();
  field("--version", "version", "the version being deployed")->required();
  field("--commit", "commit", "the commit SHA");
  field("--change-url", "change_url", "the change (pull/merge request) URL");
  field("--summary", "summary", "one line on what changes");
  field("--run-url", "run_url", "the CI run's URL");
  field("--triggered-by", "triggered_by", "who started the run");
  request->add_option("--server", o.server, "opsgate's address (default $OPSGATE_URL, else http://127.0.0.1:8088)");
  request->add_option("--token-env", o.token_env, "environment variable holding the client token")
      ->capture_default_str();
  request
      ->add_option_function<std::string>(
          "--timeout",
          [chosen](const std::string& value) {
            chosen->options.timeout_s = *parse_duration_seconds(value);
            chosen->options.body["timeout_s"] = chosen->options.timeout_s;
          },
          "wait at most this long (e.g. 60m; also shortens the gate's expiry)")
      ->check(kDuration);
  request->add_option("--idempotency-key", o.key, "one gate per CI run (default: from CI variables)");
  request->add_flag("--json", o.json_out, "print the final gate as JSON on stdout");
  request->callback([&run, chosen] { run = [chosen] { return request_gate(*chosen); }; });
}

}  // namespace opsgate::gates
