#include "src/app/cli.hpp"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "src/app/app_config.hpp"
#include "src/app/audit_commands.hpp"
#include "src/app/config_check_command.hpp"
#include "src/app/daemon.hpp"
#include "src/app/discord_commands.hpp"
#include "src/app/eval_command.hpp"
#include "src/app/parse_command.hpp"
#include "src/app/policy_commands.hpp"
#include "src/core/config_node.hpp"
#include "src/gates/gate_cli.hpp"

namespace opsgate::app {

namespace {

constexpr const char* kVersion = "opsgate 0.1.0";

constexpr const char* kMainFooter = R"(
Every command but `gate` takes --config FILE; without it the embedded demo
config (config/demo.yaml) is used. `opsgate <command> --help` for details.)";

constexpr const char* kServeFooter = R"(
Runs the daemon: the HTTP server (/healthz, /readyz and webhooks) and every
adapter enabled in the config. SIGINT/SIGTERM stop accepting, drain what is in
flight (bounded) and exit 0; SIGHUP reloads the policy (a bad file is refused
and the old policy stays). With the shell adapter enabled, end of terminal
input also stops the daemon.)";

constexpr const char* kShellFooter = R"(
Chat with opsgate in the terminal. On a TTY it is a REPL; with piped input it
reads one message per line, prints each reply and exits at end of input.
Your identity is shell:<OS account> (the passwd entry of the process, never
$USER). Only if adapters.shell.allow_impersonation is true in the config
(demos): --user NAME or adapters.shell.user picks the starting identity and
`:as NAME` switches it; without it, --user is an error.)";

constexpr const char* kParseFooter = R"(
Runs the intent cascade only (no policy, no action) and prints one JSON object
per message: {"action":…, "params":{…}, "confidence":…, "parser":…},
{"action":"clarify","question":…} or {"action":"none"}.
With --jsonl, reads one message per line from stdin (a plain line, or a JSON
object with a "text" field). With `llm` in intent.parsers, what the built-in
parsers are not sure of goes to the language model; the answer then carries
"llm": {connection, model, prompt_version, tokens_in, tokens_out, latency_ms,
cost_usd} and, when the model could not be used, "degraded": reason.)";

constexpr const char* kEvalFooter = R"(
Runs the intent cascade on labelled utterances ({"text":…, "expect":{"action":…,
"params":{…}}} per line, as in ../shared/eval/) and prints exact-match
accuracy, param accuracy, per-action precision/recall (clarify and none
included), latency p50/p95, LLM tokens and cost, and the misses.

Overrides for --variant NAME=OVERRIDES (repeatable):
    intent.parsers=command,nlu,llm   intent.min_confidence=0.9
    llm.connection=NAME              llm.prompt=FILE
  e.g. --variant builtin=intent.parsers=command,nlu
       --variant llm=intent.parsers=command,nlu,llm
Exit 1 if a line is invalid.)";

constexpr const char* kConfigFooter = R"(
Validates the config (and every section an extension owns) and prints a
summary. Exits 1 with `file:line: key: what is wrong` on the first problem.)";

constexpr const char* kDiscordFooter = R"(
register-commands registers the /ops slash command of adapters.discord with
Discord (PUT /applications/{id}/commands with the bot token). With GUILD_ID
it is registered in that server only and is available at once; global
commands can take up to an hour to appear. show-commands prints the request
instead of sending it.)";

constexpr const char* kPolicyTestFooter = R"(
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
Exit 1 if a case fails.)";

// What the command line chose: the config to load and the command to run on it.
struct Chosen {
  std::optional<std::string> config;
  std::function<int(const Config&)> run;  // needs the config
  std::function<int()> run_alone;         // a client of a running opsgate (gate): no config
};

void setup_logging(const Config& config) {
  // stdout carries replies (shell) and results (parse, audit); logs go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("opsgate"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  if (const char* level = std::getenv("OPSGATE_LOG_LEVEL"); level != nullptr) {
    spdlog::set_level(spdlog::level::from_str(level));
  }
}

// A command that runs on a config: --config, and extras collected so that an
// unknown flag is reported by the command it was given to.
CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& description, Chosen& chosen,
                      const char* footer = nullptr) {
  CLI::App* command = parent.add_subcommand(name, description);
  command->add_option_function<std::string>(
      "-c,--config", [&chosen](const std::string& path) { chosen.config = path; },
      "the config file (default: the embedded demo config)");
  command->allow_extras();
  if (footer != nullptr) {
    command->footer(footer);
  }
  return command;
}

// A group of subcommands (`config`, `audit`, `policy`, `discord`).
CLI::App* add_group(CLI::App& parent, const std::string& name, const std::string& description) {
  CLI::App* group = parent.add_subcommand(name, description);
  group->require_subcommand(1);
  return group;
}

// "-n" for audit tail: a positive whole number.
const CLI::Validator kPositiveCount(
    [](std::string& value) -> std::string {
      const bool digits = !value.empty() && value.size() < 10 &&
                          value.find_first_not_of("0123456789") == std::string::npos;
      return digits && std::stoul(value) > 0 ? "" : "takes a positive whole number, not '" + value + "'";
    },
    "N");

void add_commands(CLI::App& app, Chosen& chosen) {
  {
    CLI::App* serve = add_command(app, "serve", "run the daemon (HTTP server and the adapters in the config)", chosen,
                                  kServeFooter);
    serve->callback([&chosen] {
      chosen.run = [&chosen](const Config& config) {
        DaemonOptions options;
        options.config_path = chosen.config;
        return run_daemon(config, options);
      };
    });
  }
  {
    auto user = std::make_shared<std::string>();
    CLI::App* shell =
        add_command(app, "shell", "chat with opsgate in this terminal (stdin lines when piped)", chosen, kShellFooter);
    shell->add_option("-u,--user", *user, "the starting identity (only with adapters.shell.allow_impersonation)");
    shell->callback([&chosen, user] {
      chosen.run = [&chosen, user](const Config& config) {
        DaemonOptions options;
        options.http = false;
        options.force_shell = true;
        options.shell_user = *user;
        options.config_path = chosen.config;
        return run_daemon(config, options);
      };
    });
  }
  {
    auto options = std::make_shared<ParseCommandOptions>();
    CLI::App* parse =
        add_command(app, "parse", "show how messages are understood (no policy, no action)", chosen, kParseFooter);
    parse->add_flag("--jsonl", options->jsonl, "read one message per line from stdin");
    parse->add_option("TEXT", options->texts, "the messages to parse");
    parse->callback([&chosen, options] {
      chosen.run = [options](const Config& config) { return run_parse_command(config, *options); };
    });
  }
  {
    auto options = std::make_shared<EvalOptions>();
    auto dataset_flag = std::make_shared<std::string>();
    auto dataset_arg = std::make_shared<std::string>();
    CLI::App* eval = add_command(app, "eval", "score the intent cascade on a labelled JSONL file", chosen, kEvalFooter);
    CLI::Option* flag = eval->add_option("--dataset", *dataset_flag, "the labelled JSONL file");
    eval->add_option("FILE.jsonl", *dataset_arg, "the labelled JSONL file (or --dataset)")->excludes(flag);
    eval->add_option("--variant", options->variants, "NAME=OVERRIDES: a configuration to compare (repeatable)");
    eval->add_option("--report", options->report_dir, "write DIR/report.csv and DIR/report.html");
    eval->add_flag("--jsonl", options->json, "print the report(s) as JSON");
    eval->callback([&chosen, options, dataset_flag, dataset_arg] {
      options->dataset = dataset_flag->empty() ? *dataset_arg : *dataset_flag;
      chosen.run = [options](const Config& config) {
        if (options->dataset.empty()) {
          std::fprintf(stderr, "opsgate eval: give the labelled JSONL file (--dataset FILE)\n");
          return 2;
        }
        try {
          return run_eval(config, *options);
        } catch (const std::invalid_argument& e) {
          std::fprintf(stderr, "opsgate eval: %s\n", e.what());
          return 2;
        }
      };
    });
  }
  {
    CLI::App* config = add_group(app, "config", "validate a config and print what it sets up");
    CLI::App* check = add_command(*config, "check", "validate a config and print what it sets up", chosen, kConfigFooter);
    check->callback([&chosen] { chosen.run = [](const Config& c) { return run_config_check(c); }; });
  }
  {
    CLI::App* audit = add_group(app, "audit", "read the audit log: tail, show, verify, export");
    auto options = std::make_shared<AuditCommandOptions>();
    auto id = std::make_shared<std::string>();
    auto run = [&chosen, options, id](std::string sub) {
      return [&chosen, options, id, sub] {
        chosen.run = [options, id, sub](const Config& config) {
          AuditCommandOptions with_db = *options;
          with_db.database = audit_source(config);
          const std::vector<std::string> args = id->empty() ? std::vector<std::string>{} : std::vector{*id};
          return run_audit_command(sub, args, with_db);
        };
      };
    };
    CLI::App* tail = add_command(*audit, "tail", "the newest N events (default 20)", chosen);
    tail->add_option_function<std::string>(
            "-n", [options](const std::string& n) { options->count = n; }, "how many events")
        ->check(kPositiveCount);
    tail->callback(run("tail"));
    CLI::App* show = add_command(*audit, "show", "one request's events (request id) or one event (number)", chosen);
    show->add_option("ID", *id, "a request id or an event number")->required();
    show->callback(run("show"));
    CLI::App* verify =
        add_command(*audit, "verify", "check the hash chain; names the first bad row; exit 1 if broken", chosen);
    verify->callback(run("verify"));
    CLI::App* exporting = add_command(*audit, "export", "every event, to stdout or --output FILE", chosen);
    exporting
        ->add_option_function<std::string>(
            "--format", [options](const std::string& f) { options->format = f; }, "jsonl or csv")
        ->required()
        ->check(CLI::IsMember({"jsonl", "csv"}));
    exporting->add_option_function<std::string>(
        "-o,--output", [options](const std::string& f) { options->output = f; }, "write to FILE instead of stdout");
    exporting->callback(run("export"));
  }
  {
    CLI::App* policy = add_group(app, "policy", "check one decision, or run a file of policy tests");
    auto options = std::make_shared<PolicyCheckOptions>();
    CLI::App* check =
        add_command(*policy, "check", "print one decision as JSON (effect, matched rules, explanation, approval)", chosen);
    check->add_option("-u,--user", options->user, "the principal id, e.g. shell:alice or slack:T1:U1")->required();
    check->add_option("--action", options->action, "the action name, e.g. restart")->required();
    check->add_option("--param", options->params, "key=value (repeatable)");
    check->add_option("--group", options->groups, "a platform group the principal is in (repeatable)");
    check->add_option_function<std::string>(
        "--at", [options](const std::string& at) { options->at = at; }, "RFC 3339 evaluation time (default now)");
    check->add_option("--channel", options->channel, "the channel asked in");
    check->add_option("--platform", options->platform, "the platform asked on");
    check->callback([&chosen, options] {
      chosen.run = [options](const Config& config) { return run_policy_check(config, *options); };
    });
    auto file = std::make_shared<std::string>();
    CLI::App* test = add_command(*policy, "test", "run a file of policy test cases; exit 1 if any fails", chosen,
                                 kPolicyTestFooter);
    test->add_option("TESTS.yaml", *file, "the test cases")->required();
    test->callback([&chosen, file] {
      chosen.run = [file](const Config& config) { return run_policy_test(config, *file); };
    });
  }
  {
    CLI::App* discord = add_group(app, "discord", "register the /ops slash command with Discord");
    discord->footer(kDiscordFooter);
    for (const std::string sub : {"register-commands", "show-commands"}) {
      auto guild = std::make_shared<std::string>();
      CLI::App* command =
          add_command(*discord, sub,
                      sub == "register-commands" ? "register the /ops slash command with Discord"
                                                 : "print the registration request instead of sending it",
                      chosen, kDiscordFooter);
      command->add_option("GUILD_ID", *guild, "register in this server only (available at once)");
      command->callback([&chosen, guild, sub] {
        chosen.run = [guild, sub](const Config& config) {
          return run_discord_command(config, sub, guild->empty() ? std::vector<std::string>{} : std::vector{*guild});
        };
      });
    }
  }
  gates::add_gate_commands(app, chosen.run_alone);
}

// The command the user was in when parsing stopped, e.g. "opsgate audit tail".
CLI::App* deepest(CLI::App& app) {
  CLI::App* at = &app;
  for (;;) {
    const auto chosen = at->get_subcommands();
    if (chosen.empty()) {
      return at;
    }
    at = chosen.front();
  }
}

std::string command_path(CLI::App* command) {
  std::string path;
  for (CLI::App* at = command; at != nullptr; at = at->get_parent()) {
    path = at->get_name() + (path.empty() ? "" : " ") + path;
  }
  return path;
}

// A usage error names the command, says what was wrong and where help is.
int usage_error(CLI::App* command, const std::string& what) {
  const std::string path = command_path(command);
  std::fprintf(stderr, "%s: %s\nRun `%s --help` for its options.\n", path.c_str(), what.c_str(), path.c_str());
  return 2;
}

std::vector<CLI::App*> subcommands_of(CLI::App* group) {
  return group->get_subcommands([](CLI::App*) { return true; });
}

std::string subcommand_names(CLI::App* group) {
  std::string names;
  for (const CLI::App* sub : subcommands_of(group)) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  return names;
}

// CLI11 says "The following argument(s) was/were not expected: X Y"; X is the culprit.
std::string first_unexpected(const CLI::ParseError& error) {
  const std::string message = error.what();
  const auto colon = message.find(": ");
  if (colon == std::string::npos) {
    return message;
  }
  const std::string rest = message.substr(colon + 2);
  return rest.substr(0, rest.find(' '));
}

// An argument `command` has no place for: an unknown option, an unknown
// subcommand of a group, or a stray argument.
int unexpected(CLI::App* command, const std::string& argument) {
  if (!argument.empty() && argument[0] == '-') {
    return usage_error(command, "unknown option '" + argument + "'");
  }
  if (!subcommands_of(command).empty()) {
    const bool top = command->get_parent() == nullptr;
    return usage_error(command, std::string("unknown ") + (top ? "command" : "subcommand") + " '" + argument + "' (" +
                                    (top ? "commands" : "subcommands") + ": " + subcommand_names(command) + ")");
  }
  return usage_error(command, "unexpected argument '" + argument + "'");
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app("opsgate — ChatOps with a policy, approvals and an audit log", "opsgate");
  app.footer(kMainFooter);
  app.require_subcommand(1);
  Chosen chosen;
  add_commands(app, chosen);

  if (argc < 2) {
    std::fputs(app.help().c_str(), stderr);
    return 2;
  }
  const std::string first = argv[1];
  if (first == "help") {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  if (first == "--version" || first == "version") {
    std::puts(kVersion);
    return 0;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    CLI::App* at = deepest(app);
    // help() names the command by its path ("opsgate audit tail"), given its parent's.
    std::fputs(at->help(at->get_parent() == nullptr ? "" : command_path(at->get_parent())).c_str(), stdout);
    return 0;
  } catch (const CLI::ExtrasError& e) {
    return unexpected(deepest(app), first_unexpected(e));
  } catch (const CLI::RequiredError& e) {
    // CLI11 checks what is required before what is unknown; a typo is the
    // likelier mistake, so it is reported first.
    CLI::App* at = deepest(app);
    if (const auto extras = at->remaining(); !extras.empty()) {
      return unexpected(at, extras.front());
    }
    if (at->get_require_subcommand_min() > 0 && at->get_subcommands().empty()) {
      return usage_error(at, "needs a subcommand: " + subcommand_names(at));
    }
    return usage_error(at, e.what());
  } catch (const CLI::ParseError& e) {
    return usage_error(deepest(app), e.what());
  }
  if (CLI::App* at = deepest(app); !at->remaining().empty()) {
    return unexpected(at, at->remaining().front());
  }

  if (chosen.run_alone) {
    return chosen.run_alone();
  }
  try {
    const Config config = load_app_config(chosen.config);
    setup_logging(config);
    return chosen.run(config);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "opsgate: config error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "opsgate: %s\n", e.what());
    return 1;
  }
}

}  // namespace opsgate::app
