// End-to-end load on `opsgate serve` over the Slack Events API, and the limit
// of this machine for the same HTTP setup (a bare Beast loop), in one run.
//
//   e2e_bench OPSGATE_BINARY [--requests N] [--fixtures DIR] [--rss-requests N]
//             [--concurrency 1,16,64] [--mixes chatter,whoami,metrics]
//
// In this process: a stand-in Slack Web API that timestamps each
// chat.postMessage (and answers users.info), a stand-in Prometheus answering
// from ../shared/fixtures/prometheus, a bare Beast coroutine loop, and the
// load generator: C keep-alive connections, each sending a signed event
// (distinct event_id and ts) and waiting for the reply posted in its thread
// before sending the next. Chatter posts nothing: its figure is up to the
// HTTP acknowledgement. Prints throughput and p50/p95/p99 per mix and
// concurrency, each as a ratio to the bare loop at the same concurrency;
// then opsgate's idle RSS and its RSS after --rss-requests whoami.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
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

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "adapters/slack/slack_signature.hpp"
#include "src/net/http_server.hpp"

extern char** environ;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

constexpr const char* kSecret = "bench-signing-secret-0123456789abcdef";

// ---- the stand-ins (Slack Web API, Prometheus) on their own thread ----------

std::string read_file(const std::string& path) {
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

// ---- the bare Beast loop: the limit of this HTTP setup ----------------------

asio::awaitable<void> bare_session(tcp::socket socket) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> request;
    auto [read_ec, n] = co_await http::async_read(socket, buffer, request, asio::as_tuple(asio::use_awaitable));
    if (read_ec) {
      co_return;
    }
    http::response<http::string_body> response{http::status::ok, request.version()};
    response.set(http::field::content_type, "text/plain");
    response.keep_alive(request.keep_alive());
    response.body() = "";
    response.prepare_payload();
    auto [write_ec, m] = co_await http::async_write(socket, response, asio::as_tuple(asio::use_awaitable));
    if (write_ec) {
      co_return;
    }
  }
}

asio::awaitable<void> bare_listen(tcp::acceptor* acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      co_return;
    }
    asio::co_spawn(acceptor->get_executor(), bare_session(std::move(socket)), asio::detached);
  }
}

class BareLoop {
 public:
  BareLoop() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(io_, bare_listen(&acceptor_), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~BareLoop() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  asio::io_context io_{1};
  tcp::acceptor acceptor_;
  std::thread thread_;
};

// ---- opsgate serve ----------------------------------------------------------

class Serve {
 public:
  Serve(const std::string& binary, const std::filesystem::path& dir, std::uint16_t stand_ins) : dir_(dir) {
    const std::string base = "http://127.0.0.1:" + std::to_string(stand_ins);
    std::ofstream(dir / "opsgate.yaml") << "storage:\n  path: " << (dir / "opsgate.db").string() << R"(
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
    signing_secret: )" << kSecret << R"(
    api_base: )" << base << R"(/api
    post_interval_ms: 0
actions:
  prometheus:
    url: )" << base << R"(
policy:
  groups:
    shop: {members: ["slack:T0AAA:U0ALICE"]}
  roles:
    reader: {actions: ["metrics.*"]}
  bindings:
    - {subjects: [group:shop], roles: [reader]}
)";
    const std::string command = "exec " + binary + " serve --config " + (dir / "opsgate.yaml").string() + " 2>" +
                                (dir / "serve.log").string();
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
    std::ifstream in(dir_ / "serve.log");
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
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// ---- the load generator ------------------------------------------------------

enum class Mix { chatter, whoami, metrics, soak };  // soak: 9 chatter, then 1 whoami

const char* mix_name(Mix mix) {
  switch (mix) {
    case Mix::chatter: return "chatter (unaddressed)";
    case Mix::whoami: return "whoami";
    case Mix::metrics: return "metrics.query";
    case Mix::soak: return "soak (9 chatter : 1 whoami)";
  }
  return "";
}

// Each connection talks in its own channel, as busy workspaces spread over
// channels (Slack itself limits posting to about one message per second per channel).
std::string event_body(Mix mix, std::uint64_t n, const std::string& ts, int channel) {
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
    event["text"] = mix == Mix::whoami ? "<@U0BOT> whoami" : "<@U0BOT> error rate of checkout in prod";
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

double quantile(std::vector<double>& v, double q) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

struct Load {
  Mix mix = Mix::whoami;
  bool bare = false;  // the bare loop answers; nothing is posted
  std::uint16_t port = 0;
  Replies* replies = nullptr;
  std::atomic<std::uint64_t>* next_id = nullptr;
  std::uint64_t last_id = 0;  // exclusive
  int channel = 0;
  std::mutex* mutex = nullptr;
  Cell* cell = nullptr;
};

// One connection: sends, waits for the reply (or the HTTP answer), repeats.
// Blocking on its own thread: the wait for a posted reply is a condition variable.
void connection(Load load) {
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
    const bool replied = load.mix == Mix::whoami || load.mix == Mix::metrics || (load.mix == Mix::soak && n % 10 == 9);
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

Cell run_cell(Mix mix, bool bare, std::uint16_t port, int concurrency, std::uint64_t requests, Replies& replies,
              std::atomic<std::uint64_t>& ids) {
  Cell cell;
  std::mutex mutex;
  const std::uint64_t first = ids.load();
  const std::uint64_t last = first + requests;
  std::atomic<std::uint64_t> next{first};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < concurrency; ++c) {
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
std::vector<std::string> split_list(const std::string& text) {
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

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: e2e_bench OPSGATE_BINARY [--requests N] [--fixtures DIR] [--rss-requests N] "
                 "[--concurrency 1,16,64] [--mixes chatter,whoami,metrics]\n");
    return 2;
  }
  const std::string binary = argv[1];
  std::uint64_t requests = 2000;
  std::uint64_t rss_requests = 100000;
  std::string fixtures = OPSGATE_BENCH_FIXTURES;
  std::vector<int> concurrencies{1, 16, 64};
  std::vector<Mix> mixes{Mix::chatter, Mix::whoami, Mix::metrics};
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--requests") {
      requests = std::stoull(argv[i + 1]);
    } else if (flag == "--fixtures") {
      fixtures = argv[i + 1];
    } else if (flag == "--rss-requests") {
      rss_requests = std::stoull(argv[i + 1]);
    } else if (flag == "--concurrency") {
      concurrencies.clear();
      for (const auto& c : split_list(argv[i + 1])) {
        concurrencies.push_back(std::stoi(c));
      }
    } else if (flag == "--mixes") {
      mixes.clear();
      for (const auto& m : split_list(argv[i + 1])) {
        if (m == "chatter") {
          mixes.push_back(Mix::chatter);
        } else if (m == "whoami") {
          mixes.push_back(Mix::whoami);
        } else if (m == "metrics") {
          mixes.push_back(Mix::metrics);
        } else {
          std::fprintf(stderr, "e2e_bench: unknown mix %s (chatter, whoami, metrics)\n", m.c_str());
          return 2;
        }
      }
    } else {
      std::fprintf(stderr, "e2e_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  ::signal(SIGPIPE, SIG_IGN);
  try {
    Replies replies;
    StandIns stand_ins(fixtures, replies);
    BareLoop bare;
    const auto dir = std::filesystem::temp_directory_path() / ("opsgate-e2e-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::optional<Serve> serve(std::in_place, binary, dir, stand_ins.port());
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const double idle_rss = serve->rss_mb();
    std::atomic<std::uint64_t> ids{1};

    std::printf("e2e: %llu requests per cell; load average at start %s; %u cores; opsgate serve pid %d\n",
                static_cast<unsigned long long>(requests), load_average().c_str(), std::thread::hardware_concurrency(),
                static_cast<int>(serve->pid()));
    std::fflush(stdout);
    std::printf("%-22s %5s %10s %8s %8s %8s %8s | %8s %8s %8s\n", "mix", "conc", "req/s", "p50 ms", "p95 ms",
                "p99 ms", "failed", "x bare", "p50 x", "p99 x");
    for (const int concurrency : concurrencies) {
      Cell limit = run_cell(Mix::whoami, true, bare.port(), concurrency, requests, replies, ids);
      const double limit_rate = static_cast<double>(limit.ms.size()) / limit.seconds;
      const double limit_p50 = quantile(limit.ms, 0.5);
      const double limit_p99 = quantile(limit.ms, 0.99);
      std::printf("%-22s %5d %10.0f %8.2f %8.2f %8.2f %8d | %8s %8s %8s\n", "bare Beast loop", concurrency, limit_rate,
                  limit_p50, quantile(limit.ms, 0.95), limit_p99, limit.failed, "1.00", "1.00", "1.00");
      for (const Mix mix : mixes) {
        Cell cell = run_cell(mix, false, serve->port(), concurrency, requests, replies, ids);
        const double rate = static_cast<double>(cell.ms.size()) / cell.seconds;
        const double p50 = quantile(cell.ms, 0.5);
        const double p99 = quantile(cell.ms, 0.99);
        std::printf("%-22s %5d %10.0f %8.2f %8.2f %8.2f %8d | %8.3f %8.1f %8.1f\n", mix_name(mix), concurrency, rate, p50,
                    quantile(cell.ms, 0.95), p99, cell.failed, rate / limit_rate, p50 / limit_p50, p99 / limit_p99);
      }
    }
    std::printf("load average at end %s\n", load_average().c_str());
    if (rss_requests > 0) {
      const double before = serve->rss_mb();
      Cell soak = run_cell(Mix::soak, false, serve->port(), 16, rss_requests, replies, ids);
      std::printf("rss: idle %.1f MB (after start); %.1f MB before and %.1f MB after %llu more requests (9 chatter : 1 whoami, "
                  "%d failed; %.0f req/s)\n",
                  idle_rss, before, serve->rss_mb(), static_cast<unsigned long long>(rss_requests), soak.failed,
                  static_cast<double>(soak.ms.size()) / soak.seconds);
    }
    serve.reset();
    std::filesystem::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "e2e_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
