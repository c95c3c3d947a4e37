#pragma once
// The Slack Events API load of the end-to-end benchmarks (bench/e2e,
// bench/replicas), shared so there is one load generator: stand-ins for the
// Slack Web API (timestamps each chat.postMessage) and Prometheus on their own
// thread, `opsgate serve` as a child process, and C blocking keep-alive
// connections, each sending a signed event (distinct event_id and ts, its own
// channel) and waiting for the reply posted in its thread. Bench-only code:
// no limits beyond the bounded waits, throws on set-up errors.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "adapters/slack/slack_signature.hpp"
#include "src/net/http_server.hpp"

extern char** environ;

namespace opsgate::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

inline constexpr const char* kSecret = "bench-signing-secret-0123456789abcdef";

// ---- the stand-ins (Slack Web API, Prometheus) on their own thread ----------

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw std::runtime_error("cannot read " + path + " (pass --fixtures DIR, the folder holding prometheus/)");
  }
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Replies posted, by the thread they were posted in (= the event's ts). Each
// connection registers the thread it waits for before sending and is woken
// alone (a notify_all over 64 waiting connections per reply cost more CPU
// than opsgate itself on a 2-core machine).
class Replies {
 public:
  struct Waiter {
    std::mutex mutex;
    std::condition_variable posted;
    std::optional<Clock::time_point> at;
  };
  std::shared_ptr<Waiter> expect(const std::string& thread_ts) {
    auto waiter = std::make_shared<Waiter>();
    std::lock_guard lock(mutex_);
    waiting_[thread_ts] = waiter;
    return waiter;
  }
  void posted(const std::string& thread_ts) {
    const auto now = Clock::now();
    std::shared_ptr<Waiter> waiter;
    {
      std::lock_guard lock(mutex_);
      const auto it = waiting_.find(thread_ts);
      if (it == waiting_.end()) {
        return;  // nobody waits for it (not a measured request)
      }
      waiter = std::move(it->second);
      waiting_.erase(it);
    }
    std::lock_guard lock(waiter->mutex);
    waiter->at = now;
    waiter->posted.notify_one();
  }
  // Waits (bounded) for the reply `waiter` expects; nullopt on timeout.
  std::optional<Clock::time_point> wait(const std::string& thread_ts, Waiter& waiter, std::chrono::seconds limit) {
    std::unique_lock lock(waiter.mutex);
    waiter.posted.wait_for(lock, limit, [&] { return waiter.at.has_value(); });
    const std::optional<Clock::time_point> at = waiter.at;
    lock.unlock();
    if (!at) {
      std::lock_guard forget(mutex_);
      waiting_.erase(thread_ts);
    }
    return at;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Waiter>> waiting_;
};

class StandIns {
 public:
  StandIns(const std::string& fixtures, Replies& replies) : server_(io_.get_executor(), config()) {
    const std::string range = read_file(fixtures + "/prometheus/query_range_matrix.json");
    const std::string instant = read_file(fixtures + "/prometheus/query_vector.json");
    server_.route("POST", "/api/chat.postMessage", [&replies](opsgate::net::HttpRequest request) {
      return post_message(&replies, std::move(request));
    });
    server_.route("POST", "/api/users.info", [](opsgate::net::HttpRequest) { return users_info(); });
    server_.route("GET", "/api/v1/query_range", [range](opsgate::net::HttpRequest) { return fixture(range); });
    server_.route("GET", "/api/v1/query", [instant](opsgate::net::HttpRequest) { return fixture(instant); });
    auto started = server_.start();
    if (!started) {
      throw std::runtime_error(started.error().message);
    }
    thread_ = std::thread([this] { io_.run(); });
  }
  ~StandIns() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return server_.local_port(); }

 private:
  static asio::awaitable<opsgate::net::HttpResponse> post_message(Replies* replies, opsgate::net::HttpRequest request) {
    const json body = json::parse(request.body, nullptr, false);
    const std::string thread = body.is_object() ? body.value("thread_ts", "") : "";
    replies->posted(thread);
    co_return opsgate::net::HttpResponse::json(
        200, json{{"ok", true}, {"channel", body.is_object() ? body.value("channel", "") : ""}, {"ts", "1767225700.000001"}});
  }
  static asio::awaitable<opsgate::net::HttpResponse> users_info() {
    co_return opsgate::net::HttpResponse::json(
        200, json{{"ok", true}, {"user", {{"id", "U0ALICE"}, {"name", "alice"}, {"profile", {{"display_name", "alice"}}}}}});
  }
  static asio::awaitable<opsgate::net::HttpResponse> fixture(std::string body) {
    opsgate::net::HttpResponse response = opsgate::net::HttpResponse::text(200, std::move(body));
    response.content_type = "application/json";
    co_return response;
  }
  static opsgate::net::HttpServerConfig config() {
    opsgate::net::HttpServerConfig c;
    c.listen = "127.0.0.1:0";
    c.max_connections = 1024;
    return c;
  }

  asio::io_context io_{1};
  opsgate::net::HttpServer server_;
  std::thread thread_;
};

// ---- opsgate serve ----------------------------------------------------------

// The config both benches run: the Slack Events API against the stand-ins,
// Prometheus for metrics.query, alice may read metrics. `storage` is the whole
// storage section (SQLite or PostgreSQL). With `restart_command` (an exec
// argv such as "[/bin/true]") alice may also restart in staging, so the write
// path (a durable `started` before the command runs) is measured. No rate
// limit: its reservations pile up over a run (thousands per person), and the
// cost of checking them grew with them — the cells would drift.
inline std::string bench_config(const std::string& storage, std::uint16_t stand_ins,
                                const std::string& restart_command = "") {
  const std::string base = "http://127.0.0.1:" + std::to_string(stand_ins);
  const std::string exec = restart_command.empty() ? "" : "  exec:\n    commands:\n      restart: " + restart_command + "\n";
  const std::string writes =
      restart_command.empty()
          ? ""
          : "    operator: {actions: [restart]}\n";
  const std::string write_bindings =
      restart_command.empty() ? "" : "    - {subjects: [group:shop], roles: [operator]}\n";
  return storage + R"(
server:
  listen: 127.0.0.1:0
  max_connections: 1024
default_env: prod
environments:
  prod: {synonyms: [production]}
  staging: {synonyms: [stage]}
targets:
  checkout: {team: shop, namespace: "shop-{env}", prometheus_selector: 'service="checkout"'}
intent:
  parsers: [command, nlu]
adapters:
  slack:
    mode: http
    bot_token: xoxb-bench-bot
    signing_secret: )" + std::string(kSecret) + R"(
    api_base: )" + base + R"(/api
    post_interval_ms: 0
actions:
  prometheus:
    url: )" + base + "\n" + exec + R"(policy:
  groups:
    shop: {members: ["slack:T0AAA:U0ALICE"]}
  roles:
    reader: {actions: ["metrics.*"]}
)" + writes + R"(  bindings:
    - {subjects: [group:shop], roles: [reader]}
)" + write_bindings;
}

class Serve {
 public:
  // Writes `config` to DIR/NAME.yaml and starts `opsgate serve` on it, its
  // stderr in DIR/NAME.log; waits (bounded) for its port.
  Serve(const std::string& binary, const std::filesystem::path& dir, const std::string& config,
        const std::string& name = "opsgate")
      : dir_(dir), log_(dir / (name + ".log")) {
    std::ofstream(dir / (name + ".yaml")) << config;
    const std::string command =
        "exec " + binary + " serve --config " + (dir / (name + ".yaml")).string() + " 2>" + log_.string();
    const char* argv[] = {"sh", "-c", command.c_str(), nullptr};
    if (posix_spawn(&pid_, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
      throw std::runtime_error("cannot start " + binary);
    }
    static const std::regex kPort("\\(port ([0-9]+)\\)");
    for (int i = 0; i < 400 && port_ == 0; ++i) {
      std::smatch m;
      const std::string log = read_log();
      if (std::regex_search(log, m, kPort)) {
        port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    if (port_ == 0) {
      throw std::runtime_error("opsgate serve did not start; its log:\n" + read_log());
    }
  }
  ~Serve() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string read_log() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Resident set size in MB, from /proc.
  double rss_mb() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) {
        return std::stod(line.substr(6)) / 1024.0;
      }
    }
    return 0;
  }

 private:
  std::filesystem::path dir_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// ---- the load generator ------------------------------------------------------

enum class Mix { chatter, whoami, metrics, soak, restart };  // soak: 9 chatter, then 1 whoami

inline const char* mix_name(Mix mix) {
  switch (mix) {
    case Mix::chatter: return "chatter (unaddressed)";
    case Mix::whoami: return "whoami";
    case Mix::metrics: return "metrics.query";
    case Mix::soak: return "soak (9 chatter : 1 whoami)";
    case Mix::restart: return "restart (staging)";
  }
  return "";
}

// Each connection talks in its own channel, as busy workspaces spread over
// channels (Slack itself limits posting to about one message per second per channel).
inline std::string event_body(Mix mix, std::uint64_t n, const std::string& ts, int channel) {
  if (mix == Mix::soak) {
    mix = n % 10 == 9 ? Mix::whoami : Mix::chatter;
  }
  json event = {{"user", "U0ALICE"}, {"channel", "C0OPS" + std::to_string(channel)}, {"ts", ts}, {"event_ts", ts}};
  if (mix == Mix::chatter) {
    event["type"] = "message";
    event["channel_type"] = "channel";
    event["text"] = "lunch at 12? the usual place";
  } else {
    event["type"] = "app_mention";
    event["text"] = mix == Mix::whoami    ? "<@U0BOT> whoami"
                    : mix == Mix::restart ? "<@U0BOT> restart checkout in staging"
                                          : "<@U0BOT> error rate of checkout in prod";
  }
  return json{{"token", "unused"},  {"team_id", "T0AAA"}, {"api_app_id", "A0BBB"}, {"type", "event_callback"},
              {"event_id", "Ev" + std::to_string(n)}, {"event_time", 1767225600}, {"event", event}}
      .dump();
}

struct Cell {
  double seconds = 0;
  std::vector<double> ms;  // per request
  int failed = 0;
};

inline double quantile(std::vector<double>& v, double q) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

struct Load {
  Mix mix = Mix::whoami;
  bool bare = false;  // the bare loop answers; nothing is posted
  std::uint16_t port = 0;  // this connection's server
  Replies* replies = nullptr;
  std::atomic<std::uint64_t>* next_id = nullptr;
  std::uint64_t last_id = 0;  // exclusive
  int channel = 0;
  std::mutex* mutex = nullptr;
  Cell* cell = nullptr;
};

// One connection: sends, waits for the reply (or the HTTP answer), repeats.
// Blocking on its own thread: the wait for a posted reply is a condition variable.
inline void connection(Load load) {
  asio::io_context io;
  tcp::socket socket(io);
  boost::system::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), load.port), ec);
  if (ec) {
    std::lock_guard lock(*load.mutex);
    ++load.cell->failed;
    return;
  }
  socket.set_option(tcp::no_delay(true));
  beast::flat_buffer buffer;
  std::vector<double> local;
  int failed = 0;
  for (;;) {
    const std::uint64_t n = load.next_id->fetch_add(1);
    if (n >= load.last_id) {
      break;
    }
    const std::string ts = "1767225600." + std::to_string(100000000 + n);
    const std::string body = event_body(load.mix, n, ts, load.channel);
    const std::string stamp = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    http::request<http::string_body> request{http::verb::post, "/slack/events", 11};
    request.set(http::field::host, "opsgate");
    request.set(http::field::content_type, "application/json");
    request.set("X-Slack-Request-Timestamp", stamp);
    request.set("X-Slack-Signature", opsgate::adapters::slack::sign(kSecret, stamp, body));
    request.body() = body;
    request.keep_alive(true);
    request.prepare_payload();
    const bool replied = load.mix == Mix::whoami || load.mix == Mix::metrics || load.mix == Mix::restart ||
                         (load.mix == Mix::soak && n % 10 == 9);
    std::shared_ptr<Replies::Waiter> waiter;
    if (!load.bare && replied) {
      waiter = load.replies->expect(ts);
    }
    const auto sent = Clock::now();
    http::write(socket, request, ec);
    http::response<http::string_body> response;
    if (!ec) {
      http::read(socket, buffer, response, ec);
    }
    if (ec || response.result_int() != 200) {
      ++failed;
      if (ec) {
        break;
      }
      continue;
    }
    Clock::time_point done = Clock::now();
    if (waiter) {
      const auto posted = load.replies->wait(ts, *waiter, std::chrono::seconds(30));
      if (!posted) {
        ++failed;
        continue;
      }
      done = *posted;
    }
    local.push_back(std::chrono::duration<double, std::milli>(done - sent).count());
  }
  std::lock_guard lock(*load.mutex);
  load.cell->ms.insert(load.cell->ms.end(), local.begin(), local.end());
  load.cell->failed += failed;
}

// `concurrency` connections, connection c to ports[c % ports.size()] (several
// replicas share the load evenly), until `requests` were sent in all.
inline Cell run_cell(Mix mix, bool bare, const std::vector<std::uint16_t>& ports, int concurrency, std::uint64_t requests,
                     Replies& replies, std::atomic<std::uint64_t>& ids) {
  Cell cell;
  std::mutex mutex;
  const std::uint64_t first = ids.load();
  const std::uint64_t last = first + requests;
  std::atomic<std::uint64_t> next{first};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < concurrency; ++c) {
    const std::uint16_t port = ports[static_cast<std::size_t>(c) % ports.size()];
    threads.emplace_back(connection, Load{mix, bare, port, &replies, &next, last, c, &mutex, &cell});
  }
  for (auto& t : threads) {
    t.join();
  }
  cell.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ids = last;
  return cell;
}

// "1,16,64" → {1, 16, 64}.
inline std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) {
      items.push_back(item);
    }
  }
  return items;
}

// "1,16,64" → {1, 16, 64}: the --concurrency flag of both benches.
inline std::vector<int> parse_concurrencies(const std::string& text) {
  std::vector<int> concurrencies;
  for (const auto& item : split_list(text)) {
    concurrencies.push_back(std::stoi(item));
  }
  return concurrencies;
}

// "whoami,restart" → the mixes a bench offers (`offered`), by their flag
// names; an unknown name is nullopt, for the caller to name in its usage error.
inline std::optional<std::vector<Mix>> parse_mixes(const std::string& text, const std::vector<Mix>& offered) {
  static const std::map<std::string, Mix> names{{"chatter", Mix::chatter}, {"whoami", Mix::whoami},
                                                {"metrics", Mix::metrics}, {"restart", Mix::restart}};
  std::vector<Mix> mixes;
  for (const auto& item : split_list(text)) {
    const auto found = names.find(item);
    if (found == names.end() || std::find(offered.begin(), offered.end(), found->second) == offered.end()) {
      return std::nullopt;
    }
    mixes.push_back(found->second);
  }
  return mixes;
}

inline std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace opsgate::bench
