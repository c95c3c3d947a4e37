#include "src/app/daemon.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include "src/app/app_config.hpp"
#include "src/app/components.hpp"
#include "src/app/database_health.hpp"
#include "src/app/shared_stores.hpp"
#include "src/approval/pg_approval_store.hpp"
#include "src/approval/sqlite_approval_store.hpp"
#include "src/approval/workflow.hpp"
#include "src/audit/pg_audit_log.hpp"
#include "src/audit/sqlite_audit_log.hpp"
#include "src/intent/llm_accounting.hpp"
#include "src/net/curl_library.hpp"
#include "src/core/log_exception.hpp"
#include "src/core/pipeline.hpp"
#include "src/gates/gate_api.hpp"
#include "src/gates/gate_service.hpp"
#include "src/gates/gate_store.hpp"
#include "src/gates/platforms.hpp"
#include "src/store/pg_store.hpp"
#include "src/store/sqlite_store.hpp"

namespace opsgate::app {

namespace asio = boost::asio;

namespace {

// The current policy snapshot; swapped whole on SIGHUP.
class PolicyHolder {
 public:
  explicit PolicyHolder(std::shared_ptr<const PolicyEngine> policy) : policy_(std::move(policy)) {}
  std::shared_ptr<const PolicyEngine> get() const {
    std::lock_guard lock(mutex_);
    return policy_;
  }
  void set(std::shared_ptr<const PolicyEngine> policy) {
    std::lock_guard lock(mutex_);
    policy_ = std::move(policy);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const PolicyEngine> policy_;
};

// While the terminal is a chat, log lines would break up the conversation
// (piped or typed): send them to a file beside the database instead.
void route_logs_for_terminal(const Config& config) {
  const std::filesystem::path log_path = std::filesystem::path(config.storage_path).parent_path() / "opsgate.log";
  try {
    // Made, not registered: spdlog refuses a second logger named "opsgate"
    // (setup_logging's stderr logger); set_default_logger replaces that one.
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_path.string());
    auto logger = std::make_shared<spdlog::logger>("opsgate", std::move(sink));
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
    logger->set_level(spdlog::get_level());
    spdlog::set_default_logger(logger);
    spdlog::flush_every(std::chrono::seconds(1));
    std::fprintf(stderr, "opsgate: logging to %s\n", log_path.c_str());
  } catch (const spdlog::spdlog_ex& e) {
    std::fprintf(stderr, "opsgate: cannot log to %s (%s); logging to stderr\n", log_path.c_str(), e.what());
  }
}

boost::asio::awaitable<net::HttpResponse> serve_metrics(std::shared_ptr<const MetricsRegistry> metrics,
                                                        std::optional<Secret> token, net::HttpRequest request) {
  if (token) {
    const std::string_view auth = request.header_or_empty("authorization");
    const std::string_view prefix = "Bearer ";
    if (auth.size() <= prefix.size() || auth.substr(0, prefix.size()) != prefix || !token->matches(auth.substr(prefix.size()))) {
      co_return net::HttpResponse::json(401, nlohmann::json{{"error", "GET /metrics needs Authorization: Bearer <server.metrics_token>"}});
    }
  }
  net::HttpResponse response;
  response.content_type = kPrometheusContentType;
  response.body = metrics->render();
  co_return response;
}

// How often pending approvals are expired and a dead replica's granted ones
// taken over: 15 s. OPSGATE_APPROVAL_SWEEP_MS (50..60000) shortens it for the
// replica tests (which kill a replica and wait for the other's sweep); it is
// not a setting, so it is read here and nowhere else.
std::chrono::milliseconds approval_sweep_interval() {
  constexpr std::chrono::milliseconds kDefault{15000};
  const char* text = std::getenv("OPSGATE_APPROVAL_SWEEP_MS");
  if (text == nullptr || *text == '\0') {
    return kDefault;
  }
  char* end = nullptr;
  const long ms = std::strtol(text, &end, 10);
  if (*end != '\0' || ms < 50 || ms > 60000) {
    spdlog::warn("OPSGATE_APPROVAL_SWEEP_MS={} is not a number of milliseconds from 50 to 60000; sweeping every 15 s",
                 text);
    return kDefault;
  }
  return std::chrono::milliseconds(ms);
}

}  // namespace

int run_daemon(const Config& config, const DaemonOptions& options) {
  asio::io_context io(1);
  Components components = build_components(config, io.get_executor());
  if (options.force_shell) {
    components.shell.enabled = true;
  }
  if (!options.shell_user.empty()) {
    // Without impersonation the terminal is the OS account that runs opsgate.
    if (!components.shell.allow_impersonation) {
      std::fprintf(stderr,
                   "opsgate: --user %s is refused: %s does not set adapters.shell.allow_impersonation: true, so "
                   "you are the OS account running opsgate (shell:%s). Leave out --user, or allow impersonation "
                   "(demos only).\n",
                   options.shell_user.c_str(), config.source.c_str(), adapters::shell::os_user_name().c_str());
      return 2;
    }
    components.shell.user = options.shell_user;
  }
  const bool logs_to_file = components.shell.enabled;
  if (logs_to_file) {
    route_logs_for_terminal(config);
  }
  for (const auto& warning : components.warnings) {
    spdlog::warn("config: {}", warning);
  }
  if (options.http) {
    // The daemon answers every chat over HTTP (and calls its backends so):
    // libcurl is loaded now, so a missing library stops start-up with its
    // package name instead of failing the first reply of an incident. The
    // shell and the CLI commands load it only when a request needs it.
    if (auto curl = net::load_curl(); !curl) {
      std::fprintf(stderr, "opsgate: %s\n", curl.error().message.c_str());
      return 1;
    }
  }

  const std::string owner = std::string("opsgate ") + (options.http ? "serve" : "shell");
  const bool on_postgres = config.storage_backend == StorageBackend::postgres && config.postgres;
  // One owner of the database file: one writer thread and group commit for
  // every table. The lock refuses a second daemon or shell on the same file,
  // which would move the audit head under this one and fail its in-flight approvals.
  // On PostgreSQL every store is there: storage.path is not opened at all, so
  // replicas may share a node or volume and run on a read-only root file system.
  std::shared_ptr<store::SqliteStore> database;
  if (!on_postgres) {
    auto opened_store = store::SqliteStore::open(config.storage_path, store::StoreOptions{.lock_owner = owner});
    if (!opened_store) {
      std::fprintf(stderr, "opsgate: %s\n", opened_store.error().message.c_str());
      return 1;
    }
    database = std::move(*opened_store);
  }

  SystemClock clock;
  // storage.backend: postgres (several replicas): the audit log, approvals,
  // rate limits, replays and the stores of shared_stores() live in PostgreSQL.
  std::shared_ptr<store::PgStore> pg;
  std::unique_ptr<audit::QueuedAuditLog> audit_log;
  std::unique_ptr<approval::RulesApprovalStore> approval_store;
  std::string audit_where = config.storage_path;
  if (on_postgres) {
    store::PgOptions pg_options;
    pg_options.dsn = config.postgres->dsn.reveal();
    pg_options.pool_size = config.postgres->pool_size;
    pg_options.connect_timeout = config.postgres->connect_timeout;
    pg_options.statement_timeout = config.postgres->statement_timeout;
    pg_options.application_name = owner;
    auto opened_pg = store::PgStore::open(pg_options);
    if (!opened_pg) {
      std::fprintf(stderr, "opsgate: %s\n", opened_pg.error().message.c_str());
      return 1;
    }
    pg = std::move(*opened_pg);
    audit_where = pg->where();
    audit_log = std::move(*audit::PgAuditLog::attach(pg, clock));
    approval_store = std::move(*approval::PgApprovalStore::open(pg));
    if (auto opened = components.replays->open(pg); !opened) {
      std::fprintf(stderr, "opsgate: %s\n", opened.error().message.c_str());
      return 1;
    }
    spdlog::info("storage: PostgreSQL at {} (audit log, approvals, rate limits, replays)", audit_where);
  } else {
    auto attached = audit::SqliteAuditLog::attach(database, clock);
    if (!attached) {
      std::fprintf(stderr, "opsgate: %s\n", attached.error().message.c_str());
      return 1;
    }
    audit_log = std::move(*attached);
    auto opened_approvals = approval::SqliteApprovalStore::open(database);
    if (!opened_approvals) {
      std::fprintf(stderr, "opsgate: %s\n", opened_approvals.error().message.c_str());
      return 1;
    }
    approval_store = std::move(*opened_approvals);
    // Replays and redeliveries of every platform, in the same file.
    if (auto opened = components.replays->open(database); !opened) {
      std::fprintf(stderr, "opsgate: %s\n", opened.error().message.c_str());
      return 1;
    }
  }
  auto& audit = *audit_log;
  auto& approvals = *approval_store;
  if (auto interrupted = approvals.recover_interrupted(); interrupted && !interrupted->empty()) {
    for (const auto& a : *interrupted) {
      spdlog::warn("approval {} ({} by {}) was granted but opsgate stopped before it finished; marked failed",
                   a.id, a.request.action, a.requester);
    }
  }

  // Alert threads, gates, LLM spending, the leader lease: on the same database.
  SharedStores shared = pg ? shared_stores(pg) : shared_stores(database);
  // Language-model spending is kept as data: today's is read back so a
  // restart does not reset a team's daily budget.
  LlmUsageLog& llm_usage = *shared.llm_usage;
  if (components.llm_accounting) {
    components.llm_accounting->attach_usage_log(&llm_usage);
    if (auto seeded = components.llm_accounting->seed_from_usage_log(clock.now()); !seeded) {
      spdlog::warn("LLM budgets start from zero: cannot read today's spending: {}", seeded.error().message);
    }
  }

  PolicyHolder policy(components.policy);
  PipelineDeps deps{*components.parser, [&policy] { return policy.get(); }, components.actions, audit,
                    clock,              config.inventory,                    config.action_timeout};
  approval::Workflow workflow(approval::WorkflowDeps{approvals, approvals, audit, clock,
                                                    [&policy] { return policy.get(); }, components.actions,
                                                    config.action_timeout});
  deps.approvals = &workflow;
  deps.conversation.turns = components.context_turns;
  Pipeline pipeline(std::move(deps));

  if (!options.http) {
    components.chat_adapters.clear();  // `opsgate shell` talks to the terminal only
  }
  // Adapters by platform, for threads opsgate opens itself (alerts, gates).
  std::map<std::string, Adapter*, std::less<>> adapters_by_platform;
  auto adapter_of = [&adapters_by_platform](std::string_view platform) -> Adapter* {
    const auto found = adapters_by_platform.find(platform);
    return found == adapters_by_platform.end() ? nullptr : found->second;
  };

  // Deployment gates: CI pipelines ask over HTTP, people vote in chat.
  std::unique_ptr<gates::GateStore> gate_store;
  std::unique_ptr<gates::GateService> gate_service;
  if (components.gates && options.http) {
    auto opened = shared.open_gates();
    if (!opened) {
      std::fprintf(stderr, "opsgate: %s\n", opened.error().message.c_str());
      return 1;
    }
    gate_store = std::move(*opened);
    gate_service = std::make_unique<gates::GateService>(
        *components.gates,
        gates::GateServiceDeps{*gate_store, approvals, approvals, audit, clock, [&policy] { return policy.get(); },
                               config.inventory, components.actions, adapter_of,
                               [&pipeline] { return pipeline.expire_approvals(); }},
        io.get_executor());
    gate_service->add_notifier(gates::make_webhook_notifier(gate_service->config(), *components.http));
    for (auto& notifier : gates::make_platform_notifiers(gate_service->config(), *components.http, clock)) {
      gate_service->add_notifier(std::move(notifier));
    }
    pipeline.set_approval_owner(gate_service.get());
  }
  std::unique_ptr<net::HttpServer> http;
  std::unique_ptr<alertmanager::AlertWebhook> alert_webhook;
  if (options.http) {
    http = std::make_unique<net::HttpServer>(io.get_executor(), components.server);
    if (components.alertmanager) {
      alert_webhook = std::make_unique<alertmanager::AlertWebhook>(
          *components.alertmanager, config.inventory, shared.alert_threads, adapter_of,
          [&pipeline](ChatEvent origin, ActionRequest request) {
            return pipeline.on_system_request(std::move(origin), std::move(request));
          },
          audit, clock);
      alert_webhook->install_routes(*http, pipeline);
    }
    if (gate_service) {
      gates::install_gate_api(*http, *gate_service, config.inventory);
      gates::install_platform_webhooks(*http, *gate_service, config.inventory);
    }
    std::shared_ptr<const MetricsRegistry> metrics = components.metrics;
    http->route("GET", "/metrics", [metrics, token = components.server.metrics_token](net::HttpRequest request) {
      return serve_metrics(metrics, token, std::move(request));
    });
    for (auto& chat : components.chat_adapters) {
      pipeline.add_adapter(*chat);
      adapters_by_platform[std::string(chat->platform())] = chat.get();
      chat->install_routes(*http, pipeline);
    }
    auto started = http->start();
    if (!started) {
      std::fprintf(stderr, "opsgate: %s\n", started.error().message.c_str());
      return 1;
    }
    http->set_ready("audit_log", true, audit_where);
    if (logs_to_file) {
      // The log (with its "listening" line) is in the file now; the person
      // at the terminal still needs the address, and so do scripts.
      std::fprintf(stderr, "opsgate: HTTP on %s (port %u)\n", components.server.listen.c_str(),
                   static_cast<unsigned>(http->local_port()));
    }
  }

  std::unique_ptr<Adapter> shell;
  if (components.shell.enabled) {
    shell = adapters::shell::make_shell_adapter(components.shell, io.get_executor(), STDIN_FILENO, STDOUT_FILENO);
    pipeline.add_adapter(*shell);
    adapters_by_platform[std::string(shell->platform())] = shell.get();
  }
  if (!shell && !http) {
    std::fprintf(stderr, "opsgate: nothing to run: enable an adapter under `adapters:`\n");
    return 1;
  }

  // Pending approvals expire on a timer, and once at start-up for those whose
  // deadline passed while opsgate was down.
  bool stopping = false;
  const std::chrono::milliseconds sweep_interval = approval_sweep_interval();
  asio::steady_timer expiry_timer(io);
  std::function<void()> schedule_expiry = [&] {
    asio::co_spawn(io, pipeline.expire_approvals(), [&](std::exception_ptr e) {
      log_exception("approval expiry", e);
      if (stopping) {
        return;
      }
      expiry_timer.expires_after(sweep_interval);
      expiry_timer.async_wait([&](boost::system::error_code ec) {
        if (!ec) {
          schedule_expiry();
        }
      });
    });
  };
  schedule_expiry();

  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  asio::cancellation_signal shell_cancel;
  std::vector<std::unique_ptr<asio::cancellation_signal>> adapter_cancels;
  asio::steady_timer hard_stop(io);

  auto shutdown = [&](const std::string& why) {
    if (stopping) {
      return;
    }
    stopping = true;
    spdlog::info("shutting down: {}", why);
    signals.cancel();
    expiry_timer.cancel();
    shell_cancel.emit(asio::cancellation_type::terminal);
    for (auto& cancel : adapter_cancels) {
      cancel->emit(asio::cancellation_type::terminal);
    }
    if (!http) {
      return;
    }
    // A bounded drain: whatever is still running after it is abandoned.
    hard_stop.expires_after(components.server.drain_timeout + std::chrono::seconds(2));
    hard_stop.async_wait([&io](boost::system::error_code ec) {
      if (!ec) {
        spdlog::warn("drain deadline passed; stopping");
        io.stop();
      }
    });
    asio::co_spawn(io, http->stop(), [&hard_stop](std::exception_ptr e) {
      log_exception("http drain", e);
      hard_stop.cancel();
    });
  };

  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int number) {
    if (ec) {
      return;
    }
    if (number == SIGHUP) {
      if (!options.config_path) {
        spdlog::warn("SIGHUP: running on the embedded config; nothing to reload");
      } else {
        try {
          const Config fresh = load_app_config(options.config_path);
          policy.set(build_policy(fresh));
          spdlog::info("SIGHUP: policy reloaded from {}", *options.config_path);
        } catch (const std::exception& e) {
          spdlog::error("SIGHUP: the new policy was refused, the old one stays active: {}", e.what());
        }
      }
      signals.async_wait(on_signal);
      return;
    }
    shutdown(number == SIGINT ? "SIGINT" : "SIGTERM");
  };
  signals.async_wait(on_signal);

  if (shell) {
    asio::co_spawn(io, shell->run(pipeline),
                   asio::bind_cancellation_slot(shell_cancel.slot(), [&](std::exception_ptr e) {
                     log_exception("shell adapter", e);
                     shutdown("end of terminal input");
                   }));
  }

  // /readyz fails while the database does not answer.
  std::unique_ptr<DatabaseHealth> database_health;
  if (http) {
    database_health = std::make_unique<DatabaseHealth>(
        shared.where, shared.ping,
        [server = http.get()](bool ok, std::string detail) { server->set_ready("database", ok, std::move(detail)); },
        std::chrono::seconds(5));
    adapter_cancels.push_back(std::make_unique<asio::cancellation_signal>());
    asio::co_spawn(io, database_health->run(),
                   asio::bind_cancellation_slot(adapter_cancels.back()->slot(), [](std::exception_ptr e) {
                     log_exception("database probe", e);
                   }));
  }

  // What must run once across replicas runs while this one holds the lease
  // (on SQLite, one process owns the file: always).
  adapter_cancels.push_back(std::make_unique<asio::cancellation_signal>());
  asio::co_spawn(io, components.leadership->run(*shared.lease),
                 asio::bind_cancellation_slot(adapter_cancels.back()->slot(), [](std::exception_ptr e) {
                   log_exception("leader lease", e);
                 }));

  if (gate_service) {
    adapter_cancels.push_back(std::make_unique<asio::cancellation_signal>());
    // Gate expiry and outbound callbacks: one replica, or a callback goes out twice.
    auto gate_timers = [&gate_service] { return gate_service->run(); };
    asio::co_spawn(io, components.leadership->run_while_leader("gate expiry and callbacks", gate_timers),
                   asio::bind_cancellation_slot(adapter_cancels.back()->slot(), [](std::exception_ptr e) {
                     log_exception("gates", e);
                   }));
  }

  for (auto& chat : components.chat_adapters) {
    adapter_cancels.push_back(std::make_unique<asio::cancellation_signal>());
    const std::string name(chat->platform());
    asio::co_spawn(io, chat->run(pipeline),
                   asio::bind_cancellation_slot(adapter_cancels.back()->slot(), [name](std::exception_ptr e) {
                     log_exception(name + " adapter", e);
                   }));
  }

  io.run();
  audit.close();
  if (components.llm_accounting) {
    components.llm_accounting->attach_usage_log(nullptr);
  }
  if (database) {
    database->close();
  }
  if (pg) {
    pg->close();
  }
  spdlog::info("stopped");
  spdlog::shutdown();
  return 0;
}

}  // namespace opsgate::app
