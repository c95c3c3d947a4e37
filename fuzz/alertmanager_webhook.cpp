// POST /alertmanager with the right token and any body: the payload is parsed,
// alerts are mapped to targets and threads (a real SQLite file under
// $TMPDIR), posts go to a recording adapter. The pipeline is not run.
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "fuzz/fuzz_support.hpp"
#include "src/alertmanager/alert_webhook.hpp"
#include "src/store/sqlite_store.hpp"
#include "tests/support/fakes.hpp"
#include "tests/support/system_fakes.hpp"

namespace asio = boost::asio;

namespace {

constexpr const char* kToken = "fuzz-token-0123456789abcdef";

asio::awaitable<void> ignore(opsgate::ChatEvent, opsgate::ActionRequest) { co_return; }

struct Harness {
  Harness() {
    store = *opsgate::store::SqliteStore::open(":memory:");
    opsgate::alertmanager::AlertWebhookConfig config;
    config.token = opsgate::Secret(kToken, "fuzz");
    config.channels.default_channel = opsgate::ChannelRef{"test", "alerts"};
    webhook = std::make_unique<opsgate::alertmanager::AlertWebhook>(
        config, opsgate::fuzz::demo_config().inventory, opsgate::alertmanager::make_sqlite_alert_thread_store(store),
        [this](std::string_view p) -> opsgate::Adapter* { return p == "test" ? &adapter : nullptr; }, ignore, audit,
        clock);
  }
  std::shared_ptr<opsgate::store::SqliteStore> store;
  opsgate::test::ThreadingAdapter adapter;
  opsgate::test::FixedClock clock;
  opsgate::test::MemoryAuditLog audit;
  std::unique_ptr<opsgate::alertmanager::AlertWebhook> webhook;
  asio::io_context io;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Harness h;
  opsgate::net::HttpRequest request;
  request.method = "POST";
  request.path = request.target = "/alertmanager";
  request.headers.emplace_back("Authorization", std::string("Bearer ") + kToken);
  request.body = std::string(opsgate::fuzz::as_text(data, size));
  asio::co_spawn(h.io, h.webhook->handle(std::move(request)), [](std::exception_ptr e, opsgate::net::HttpResponse) {
    if (e) {
      std::rethrow_exception(e);  // handle() answers every body; an exception is a bug
    }
  });
  h.io.restart();
  h.io.run();
  // Every run starts from the same memory: what the fakes recorded is dropped.
  h.adapter.posted.clear();
  h.adapter.sent.clear();
  h.audit.events.clear();
  return 0;
}
