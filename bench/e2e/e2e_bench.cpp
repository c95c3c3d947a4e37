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
// then opsgate's RSS idle, after its first reply, and after --rss-requests more.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "bench/e2e/slack_load.hpp"

using namespace opsgate::bench;

namespace {

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
      concurrencies = parse_concurrencies(argv[i + 1]);
    } else if (flag == "--mixes") {
      const auto parsed = parse_mixes(argv[i + 1], {Mix::chatter, Mix::whoami, Mix::metrics});
      if (!parsed) {
        std::fprintf(stderr, "e2e_bench: unknown mix in %s (chatter, whoami, metrics)\n", argv[i + 1]);
        return 2;
      }
      mixes = *parsed;
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
    std::optional<Serve> serve(std::in_place, binary, dir,
                               bench_config("storage:\n  path: " + (dir / "opsgate.db").string(), stand_ins.port()));
    std::this_thread::sleep_for(std::chrono::seconds(1));
    const double idle_rss = serve->rss_mb();
    std::atomic<std::uint64_t> ids{1};
    // One reply sets up what every later one reuses (the connection to the
    // chat API, caches): the idle figure of a daemon that has answered once,
    // which a soak is also compared with.
    run_cell(Mix::whoami, false, {serve->port()}, 1, 1, replies, ids);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const double answered_rss = serve->rss_mb();

    std::printf("e2e: %llu requests per cell; load average at start %s; %u cores; opsgate serve pid %d\n",
                static_cast<unsigned long long>(requests), load_average().c_str(), std::thread::hardware_concurrency(),
                static_cast<int>(serve->pid()));
    std::fflush(stdout);
    std::printf("%-22s %5s %10s %8s %8s %8s %8s | %8s %8s %8s\n", "mix", "conc", "req/s", "p50 ms", "p95 ms",
                "p99 ms", "failed", "x bare", "p50 x", "p99 x");
    for (const int concurrency : concurrencies) {
      Cell limit = run_cell(Mix::whoami, true, {bare.port()}, concurrency, requests, replies, ids);
      const double limit_rate = static_cast<double>(limit.ms.size()) / limit.seconds;
      const double limit_p50 = quantile(limit.ms, 0.5);
      const double limit_p99 = quantile(limit.ms, 0.99);
      std::printf("%-22s %5d %10.0f %8.2f %8.2f %8.2f %8d | %8s %8s %8s\n", "bare Beast loop", concurrency, limit_rate,
                  limit_p50, quantile(limit.ms, 0.95), limit_p99, limit.failed, "1.00", "1.00", "1.00");
      for (const Mix mix : mixes) {
        Cell cell = run_cell(mix, false, {serve->port()}, concurrency, requests, replies, ids);
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
      Cell soak = run_cell(Mix::soak, false, {serve->port()}, 16, rss_requests, replies, ids);
      std::printf("rss: idle %.1f MB (after start), %.1f MB after its first reply; %.1f MB before and %.1f MB after %llu "
                  "more requests (9 chatter : 1 whoami, %d failed; %.0f req/s)\n",
                  idle_rss, answered_rss, before, serve->rss_mb(), static_cast<unsigned long long>(rss_requests), soak.failed,
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
