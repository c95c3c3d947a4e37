#include "src/app/cli.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <curl/curl.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "src/app/app_config.hpp"
#include "src/app/audit_commands.hpp"
#include "src/app/components.hpp"
#include "src/app/daemon.hpp"
#include "src/app/eval_command.hpp"
#include "src/app/discord_commands.hpp"
#include "src/app/policy_commands.hpp"
#include "src/core/config_node.hpp"
#include "src/gates/gate_cli.hpp"

namespace opsgate::app {

namespace {

constexpr const char* kMainHelp = R"(opsgate — ChatOps with a policy, approvals and an audit log

Usage: opsgate <command> [options]

Commands:
  serve          run the daemon (HTTP server and the adapters in the config)
  shell          chat with opsgate in this terminal (stdin lines when piped)
  parse          show how messages are understood (no policy, no action)
  eval           score the intent cascade on a labelled JSONL file
  config check   validate a config and print what it sets up
  audit          read the audit log: tail, show, verify, export
  policy         check one decision, or run a file of policy tests
  discord        register the /ops slash command with Discord
  gate request   ask for a deployment gate from a CI pipeline and wait for the vote

Every command takes --config FILE; without it the embedded demo config
(config/demo.yaml) is used. `opsgate <command> --help` for details.
)";

constexpr const char* kServeHelp = R"(Usage: opsgate serve [--config FILE]

Runs the daemon: the HTTP server (/healthz, /readyz and webhooks) and every
adapter enabled in the config. SIGINT/SIGTERM stop accepting, drain what is in
flight (bounded) and exit 0; SIGHUP reloads the policy (a bad file is refused
and the old policy stays). With the shell adapter enabled, end of terminal
input also stops the daemon.
)";

constexpr const char* kDiscordHelp = R"(Usage: opsgate discord register-commands [GUILD_ID] [--config FILE]
       opsgate discord show-commands [GUILD_ID] [--config FILE]

register-commands registers the /ops slash command of adapters.discord with
Discord (PUT /applications/{id}/commands with the bot token). With GUILD_ID
it is registered in that server only and is available at once; global
commands can take up to an hour to appear. show-commands prints the request
instead of sending it.
)";

constexpr const char* kShellHelp = R"(Usage: opsgate shell [--config FILE] [--user NAME]

Chat with opsgate in the terminal. On a TTY it is a REPL; with piped input it
reads one message per line, prints each reply and exits at end of input.
Your identity is shell:<OS account> (the passwd entry of the process, never
$USER). Only if adapters.shell.allow_impersonation is true in the config
(demos): --user NAME or adapters.shell.user picks the starting identity and
`:as NAME` switches it; without it, --user is an error.
)";

constexpr const char* kParseHelp = R"(Usage: opsgate parse [--config FILE] [--jsonl] [TEXT...]

Runs the intent cascade only (no policy, no action) and prints one JSON object
per message: {"action":…, "params":{…}, "confidence":…, "parser":…},
{"action":"clarify","question":…} or {"action":"none"}.
With --jsonl, reads one message per line from stdin (a plain line, or a JSON
object with a "text" field). With `llm` in intent.parsers, what the built-in
parsers are not sure of goes to the language model; the answer then carries
"llm": {connection, model, prompt_version, tokens_in, tokens_out, latency_ms,
cost_usd} and, when the model could not be used, "degraded": reason.
)";

constexpr const char* kEvalHelp = R"(Usage: opsgate eval [--config FILE] [--dataset] FILE.jsonl
                    [--variant NAME=OVERRIDES]... [--report DIR] [--jsonl]

Runs the intent cascade on labelled utterances ({"text":…, "expect":{"action":…,
"params":{…}}} per line, as in ../shared/eval/) and prints exact-match
accuracy, param accuracy, per-action precision/recall (clarify and none
included), latency p50/p95, LLM tokens and cost, and the misses.

  --variant NAME=OVERRIDES   a configuration to compare (repeatable); overrides:
        intent.parsers=command,nlu,llm   intent.min_confidence=0.9
        llm.connection=NAME              llm.prompt=FILE
      e.g. --variant builtin=intent.parsers=command,nlu
           --variant llm=intent.parsers=command,nlu,llm
  --report DIR   writes DIR/report.csv and a self-contained DIR/report.html
  --jsonl        prints the report(s) as JSON
Exit 1 if a line is invalid.
)";

constexpr const char* kConfigHelp = R"(Usage: opsgate config check [--config FILE]

Validates the config (and every section an extension owns) and prints a
summary. Exits 1 with `file:line: key: what is wrong` on the first problem.
)";

constexpr const char* kAuditHelp = R"(Usage: opsgate audit <tail|show|verify|export> [--config FILE]

  tail [-n N]                     the newest N events (default 20)
  show ID                         one request's events (request id) or one event (number)
  verify                          check the hash chain; names the first bad row; exit 1 if broken
  export --format jsonl|csv [--output FILE]
                                  every event, to stdout or FILE
)";

constexpr const char* kPolicyHelp = R"(Usage:
  opsgate policy check [--config FILE] --user ID --action NAME [--param key=value]...
                       [--group PLATFORM_GROUP]... [--at RFC3339] [--channel C] [--platform P]
      prints the decision as JSON (effect, matched rules, explanation, approval)
  opsgate policy test [--config FILE] TESTS.yaml
      runs policy test cases; exit 1 if any fails

A test file (`policy: FILE` tests that policy file, relative to the test
file, against the config's inventory; without it, the config's policy):
  policy: my-policy.yaml
  cases:
    - name: alice may not restart in prod without approval
      user: shell:alice
      action: restart
      params: {target: cart, env: prod}
      expect: needs_approval        # allow | deny | needs_approval
      approver: shell:bob           # optional: must be able to approve it
      not_approver: slack:T1:U0ALICE # optional: must not (the requester's own identities never can)
      person: alice                 # optional: the person `user` belongs to (people:)
      at: 2026-11-27T17:00:00+01:00 # optional: evaluation time (freeze windows)
)";

struct Args {
  std::vector<std::string> positional;
  std::optional<std::string> config;
  bool help = false;
  bool jsonl = false;
  std::optional<std::string> user;
  std::optional<std::string> format;
  std::optional<std::string> output;
  std::optional<std::string> count;
  std::optional<std::string> action;
  std::vector<std::string> params;
  std::vector<std::string> groups;
  std::optional<std::string> at;
  std::optional<std::string> channel;
  std::optional<std::string> platform;
  std::optional<std::string> dataset;
  std::vector<std::string> variants;
  std::optional<std::string> report;
  std::string error;
};

Args parse_args(int argc, char** argv, int first) {
  Args args;
  auto value_of = [&](int& i, const std::string& flag) -> std::optional<std::string> {
    if (i + 1 >= argc) {
      args.error = flag + " needs a value";
      return std::nullopt;
    }
    return std::string(argv[++i]);
  };
  for (int i = first; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      args.help = true;
    } else if (a == "--config" || a == "-c") {
      args.config = value_of(i, a);
    } else if (a.rfind("--config=", 0) == 0) {
      args.config = a.substr(9);
    } else if (a == "--jsonl") {
      args.jsonl = true;
    } else if (a == "--user" || a == "-u") {
      args.user = value_of(i, a);
    } else if (a == "--format") {
      args.format = value_of(i, a);
    } else if (a == "--output" || a == "-o") {
      args.output = value_of(i, a);
    } else if (a == "-n") {
      args.count = value_of(i, a);
    } else if (a == "--action") {
      args.action = value_of(i, a);
    } else if (a == "--param") {
      if (auto v = value_of(i, a)) args.params.push_back(*v);
    } else if (a == "--group") {
      if (auto v = value_of(i, a)) args.groups.push_back(*v);
    } else if (a == "--at") {
      args.at = value_of(i, a);
    } else if (a == "--channel") {
      args.channel = value_of(i, a);
    } else if (a == "--platform") {
      args.platform = value_of(i, a);
    } else if (a == "--dataset") {
      args.dataset = value_of(i, a);
    } else if (a == "--variant") {
      if (auto v = value_of(i, a)) args.variants.push_back(*v);
    } else if (a == "--report") {
      args.report = value_of(i, a);
    } else if (a.size() > 1 && a[0] == '-' && a != "-") {
      args.error = "unknown option " + a;
    } else {
      args.positional.push_back(a);
    }
  }
  return args;
}

int usage_error(const std::string& message, const char* help) {
  std::fprintf(stderr, "opsgate: %s\n\n%s", message.c_str(), help);
  return 2;
}

void setup_logging(const Config& config) {
  // stdout carries replies (shell) and results (parse, audit); logs go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("opsgate"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  if (const char* level = std::getenv("OPSGATE_LOG_LEVEL"); level != nullptr) {
    spdlog::set_level(spdlog::level::from_str(level));
  }
}

int cmd_parse(const Args& args, const Config& config) {
  boost::asio::io_context io;
  net::HttpClient http;
  ParserSetup setup;
  setup.http = &http;
  const auto parser = build_parser(config, setup);
  auto print = [&](const std::string& text) {
    std::cout << to_json(parse_blocking(io, *parser, text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  };
  if (args.jsonl) {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.front() == '{') {
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded() && j.is_object() && j.contains("text") && j["text"].is_string()) {
          line = j["text"].get<std::string>();
        }
      }
      print(line);
    }
    return 0;
  }
  if (args.positional.empty()) {
    return usage_error("give the message(s) to parse, or --jsonl to read them from stdin", kParseHelp);
  }
  for (const auto& text : args.positional) {
    print(text);
  }
  return 0;
}

int cmd_config_check(const Config& config) {
  boost::asio::io_context io;
  const Components components = build_components(config, io.get_executor());
  std::cout << "config ok: " << config.source << "\n";
  std::cout << "storage: " << config.storage_path << "\n";
  std::cout << "default_env: " << config.inventory->default_env() << "\n";
  for (const auto& env : config.inventory->environments()) {
    std::cout << "environment " << env.name;
    for (const auto& s : env.synonyms) std::cout << (&s == &env.synonyms.front() ? " (" : ", ") << s;
    std::cout << (env.synonyms.empty() ? "" : ")") << "\n";
  }
  for (const auto& target : config.inventory->targets()) {
    std::cout << "target " << target.name;
    if (!target.team.empty()) std::cout << " [team " << target.team << "]";
    for (const auto& a : target.aliases) std::cout << (&a == &target.aliases.front() ? " aliases: " : ", ") << a;
    std::cout << "\n";
    for (const auto& [env, p] : target.placements) {
      std::cout << "  " << env << ": deployment " << p.namespace_name << "/" << p.deployment << ", prometheus {"
                << p.prometheus_selector << "}, loki " << p.loki_selector << "\n";
    }
  }
  for (const auto& note : components.notes) {
    std::cout << note << "\n";
  }
  for (const auto& warning : components.warnings) {
    std::cerr << "opsgate: warning: " << warning << "\n";
  }
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help") {
    std::fputs(kMainHelp, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  if (command == "--version" || command == "version") {
    std::puts("opsgate 0.1.0");
    return 0;
  }
  if (command == "gate") {
    // A client of a running opsgate: no config of its own.
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return gates::run_gate_cli(argc - 2, argv + 2);
  }
  const bool two_words = command == "config" || command == "audit" || command == "policy" || command == "discord";
  const char* help = command == "serve"    ? kServeHelp
                     : command == "shell"  ? kShellHelp
                     : command == "parse"  ? kParseHelp
                     : command == "eval"   ? kEvalHelp
                     : command == "config" ? kConfigHelp
                     : command == "audit"  ? kAuditHelp
                     : command == "policy" ? kPolicyHelp
                     : command == "discord" ? kDiscordHelp
                                           : nullptr;
  if (help == nullptr) {
    return usage_error("unknown command '" + command + "'", kMainHelp);
  }
  Args args = parse_args(argc, argv, 2);
  if (args.help) {
    std::fputs(help, stdout);
    return 0;
  }
  if (!args.error.empty()) {
    return usage_error(args.error, help);
  }
  std::string sub;
  if (two_words) {
    if (args.positional.empty()) {
      return usage_error(command + " needs a subcommand", help);
    }
    sub = args.positional.front();
    args.positional.erase(args.positional.begin());
  }

  curl_global_init(CURL_GLOBAL_DEFAULT);  // the one process-wide call
  try {
    const Config config = load_app_config(args.config);
    setup_logging(config);
    if (command == "serve" || command == "shell") {
      if (!args.positional.empty()) {
        return usage_error("unexpected argument '" + args.positional.front() + "'", help);
      }
      DaemonOptions options;
      options.http = command == "serve";
      options.force_shell = command == "shell";
      options.shell_user = args.user.value_or("");
      options.config_path = args.config;
      return run_daemon(config, options);
    }
    if (command == "parse") {
      return cmd_parse(args, config);
    }
    if (command == "eval") {
      EvalOptions eval;
      if (args.dataset) {
        eval.dataset = *args.dataset;
      } else if (args.positional.size() == 1) {
        eval.dataset = args.positional.front();
      }
      if (eval.dataset.empty() || args.positional.size() > (args.dataset ? 0U : 1U)) {
        return usage_error("eval takes one labelled JSONL file (--dataset FILE)", help);
      }
      eval.variants = args.variants;
      eval.report_dir = args.report;
      eval.json = args.jsonl;
      try {
        return run_eval(config, eval);
      } catch (const std::invalid_argument& e) {
        return usage_error(e.what(), help);
      }
    }
    if (command == "policy") {
      if (sub == "check") {
        PolicyCheckOptions o;
        o.user = args.user.value_or("");
        o.groups = args.groups;
        o.action = args.action.value_or("");
        o.params = args.params;
        o.at = args.at;
        o.channel = args.channel.value_or("");
        o.platform = args.platform.value_or("");
        return run_policy_check(config, o);
      }
      if (sub == "test") {
        if (args.positional.size() != 1) {
          return usage_error("policy test takes one file of test cases", help);
        }
        return run_policy_test(config, args.positional.front());
      }
      return usage_error("unknown policy subcommand '" + sub + "'", help);
    }
    if (command == "discord") {
      return run_discord_command(config, sub, args.positional);
    }
    if (command == "config") {
      if (sub != "check") {
        return usage_error("unknown config subcommand '" + sub + "'", help);
      }
      return cmd_config_check(config);
    }
    return run_audit_command(sub, args.positional, AuditCommandOptions{config.storage_path, args.format, args.output,
                                                                        args.count});
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "opsgate: config error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "opsgate: %s\n", e.what());
    return 1;
  }
}

}  // namespace opsgate::app
