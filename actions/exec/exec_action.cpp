#include "actions/exec/exec_action.hpp"

#include <algorithm>
#include <optional>
#include <regex>
#include <string_view>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "actions/exec/argv_template.hpp"
#include "actions/exec/process_runner.hpp"
#include "src/core/redact.hpp"
#include "src/core/text.hpp"

namespace opsgate::actions::exec {

namespace {

namespace asio = boost::asio;

constexpr auto kMaxTimeout = std::chrono::hours(1);
constexpr std::int64_t kMinOutputLimit = 1024;
constexpr std::int64_t kMaxOutputLimit = std::int64_t{16} * 1024 * 1024;
constexpr std::size_t kSummaryLimit = 2000;
constexpr std::size_t kErrorLimit = 1000;
constexpr std::size_t kErrorLines = 3;

bool may_run_on_exec(const ActionSpec& spec) {
  return spec.kind == ActionKind::write || spec.name == "rollout.status";
}

std::string exec_actions_list() {
  std::string out;
  for (const auto& spec : action_catalogue()) {
    if (may_run_on_exec(spec)) {
      out += (out.empty() ? "" : ", ") + spec.name;
    }
  }
  return out;
}

// Why `name` cannot have an exec command, or nullopt when it can.
std::optional<std::string> action_problem(const std::string& name) {
  const ActionSpec* spec = find_action(name);
  if (spec == nullptr) {
    return "unknown action '" + name + "' (exec can run: " + exec_actions_list() + ")";
  }
  if (!may_run_on_exec(*spec)) {
    return "`" + name + "` is a " + std::string(to_string(spec->kind)) +
           " action; exec runs only write actions and rollout.status (" + exec_actions_list() + ")";
  }
  return std::nullopt;
}

std::vector<std::string> non_empty_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string line = text.substr(start, end - start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.pop_back();
    }
    if (!line.empty()) {
      lines.push_back(std::move(line));
    }
    start = end + 1;
  }
  return lines;
}

// The end of a failed command's output is where the reason usually is.
std::string last_lines(const std::string& text, std::size_t count) {
  const auto lines = non_empty_lines(text);
  std::string out;
  const std::size_t first = lines.size() > count ? lines.size() - count : 0;
  for (std::size_t i = first; i < lines.size(); ++i) {
    out += (out.empty() ? "" : "; ") + lines[i];
  }
  if (out.size() > kErrorLimit) {
    out = "..." + out.substr(out.size() - kErrorLimit);
  }
  return out;
}

// How a run is set up, shared by all actions of one config.
struct RunSettings {
  std::vector<std::string> env;  // complete, from minimal_environment
  std::string working_dir;
  std::chrono::milliseconds timeout;
  std::size_t output_limit;
};

// One catalogue action run as a configured command. Built by
// make_exec_actions and owned by the action registry; execute() may be called
// from any strand, concurrently: it only reads its members.
class ExecAction final : public opsgate::Action {
 public:
  ExecAction(const ActionSpec& spec, std::vector<std::string> argv, std::shared_ptr<const RunSettings> settings,
             std::shared_ptr<const Inventory> inventory, asio::any_io_executor executor)
      : spec_(spec),
        argv_(std::move(argv)),
        settings_(std::move(settings)),
        inventory_(std::move(inventory)),
        executor_(std::move(executor)) {}

  const ActionSpec& spec() const override { return spec_; }

  asio::awaitable<Result<ActionResult>> execute(ActionRequest request) override {
    if (request.action != spec_.name) {
      co_return fail(Errc::internal, "the exec action `" + spec_.name + "` was given a `" + request.action +
                                         "` request");
    }
    auto argv = argv_for(request);
    if (!argv) {
      co_return tl::unexpected(argv.error());
    }
    ProcessSpec process;
    process.argv = *argv;
    process.env = settings_->env;
    process.working_dir = settings_->working_dir;
    process.timeout = settings_->timeout;
    process.output_limit = settings_->output_limit;
    process.label = spec_.name;
    // The process's pipes and timers live on the executor this action was
    // given, whichever strand the request arrived on.
    auto run = co_await asio::co_spawn(executor_, run_process(std::move(process)), asio::use_awaitable);
    if (!run) {
      co_return tl::unexpected(run.error());
    }
    co_return to_result(*run, *argv);
  }

  // The command that would run, rendered exactly as execute() would; exec
  // cannot know its effect, so the approval is bound to the argv.
  asio::awaitable<Result<std::optional<ActionPreview>>> preview(ActionRequest request) override {
    auto argv = argv_for(request);
    if (!argv) {
      co_return tl::unexpected(argv.error());
    }
    std::string shown;
    for (const auto& arg : *argv) {
      shown += (shown.empty() ? "" : " ") + arg;
    }
    ActionPreview preview;
    preview.text = "would run: " + shown;
    preview.fingerprint = nlohmann::json(*argv).dump();
    co_return std::optional<ActionPreview>(std::move(preview));
  }

 private:
  // The command for this request: the configured argv with its placeholders filled.
  Result<std::vector<std::string>> argv_for(const ActionRequest& request) const {
    auto values = placeholder_values(request, *inventory_);
    if (!values) {
      return tl::unexpected(values.error());
    }
    return render_argv(argv_, *values, spec_.name);
  }

  Result<ActionResult> to_result(const ProcessOutput& output, const std::vector<std::string>& argv) const {
    const std::string& program = argv.front();
    // The same redaction as log lines: output goes to chat and the audit log.
    // The whole text at once, so a PEM block spanning lines is hidden whole.
    const std::string out = redact_secrets(output.out);
    if (output.exit_code != 0) {
      std::string why = last_lines(redact_secrets(output.err), kErrorLines);
      if (why.empty()) {
        why = last_lines(out, 1);
      }
      if (why.empty()) {
        why = "(no output)";
      }
      const std::string how = output.term_signal != 0
                                  ? "was ended by signal " + std::to_string(output.term_signal)
                                  : "exited with " + std::to_string(output.exit_code);
      return fail(Errc::upstream, "`" + program + "` " + how + ": " + why);
    }
    ActionResult result;
    const auto lines = non_empty_lines(out);
    result.summary = lines.empty() ? "`" + spec_.name + "` finished without output" : text::truncate_utf8(lines.back(), kSummaryLimit, "...");
    result.data = {{"exit_code", output.exit_code},
                   {"stdout", out},
                   {"argv", argv},
                   {"truncated", output.truncated}};
    return result;
  }

  const ActionSpec& spec_;  // an entry of the static catalogue
  std::vector<std::string> argv_;
  std::shared_ptr<const RunSettings> settings_;
  std::shared_ptr<const Inventory> inventory_;
  asio::any_io_executor executor_;
};

}  // namespace

ExecConfig parse_exec_config(const ConfigNode& node) {
  static const std::regex env_name_re("^[A-Za-z_][A-Za-z0-9_]*$");
  ExecConfig config;
  config.timeout = node.duration_or("timeout", config.timeout);
  if (config.timeout > kMaxTimeout) {
    node.fail("timeout", "at most 1h: a command that runs longer should be a job, not a chat action");
  }
  config.working_dir = node.str_or("working_dir", "");
  config.output_limit = static_cast<std::size_t>(node.integer_or(
      "output_limit", static_cast<std::int64_t>(config.output_limit), kMinOutputLimit, kMaxOutputLimit));

  if (const auto env = node.optional_child("env")) {
    if (!env->is_map()) {
      node.fail("env", "expected a mapping of variable names to values, e.g. {OPSGATE_DEMO_STATE: var/demo}");
    }
    for (const auto& [name, value] : env->entries()) {
      if (!std::regex_match(name, env_name_re)) {
        env->fail(name, "not a valid environment variable name (letters, digits and '_', not starting with a digit)");
      }
      config.env[name] = value.as_string();
    }
    env->finish();
  }

  const ConfigNode commands = node.child("commands");
  if (!commands.is_map()) {
    node.fail("commands", "expected a mapping of action names to commands, e.g. restart: [scripts/demo-backend, "
                          "restart, \"{env}\", \"{target}\"]");
  }
  for (const auto& [name, value] : commands.entries()) {
    if (const auto problem = action_problem(name)) {
      commands.fail(name, *problem);
    }
    std::vector<std::string> argv = commands.strings_or(name);
    if (const auto problem = check_argv_template(argv, *find_action(name))) {
      commands.fail(name, *problem);
    }
    config.commands[name] = std::move(argv);
  }
  commands.finish();
  node.finish();
  return config;
}

std::vector<std::unique_ptr<opsgate::Action>> make_exec_actions(const ExecConfig& config,
                                                                std::shared_ptr<const Inventory> inventory,
                                                                boost::asio::any_io_executor executor) {
  if (!inventory) {
    throw ConfigError("actions.exec: the exec actions need the inventory");
  }
  auto settings = std::make_shared<RunSettings>();
  settings->env = minimal_environment(config.env);
  settings->working_dir = config.working_dir;
  settings->timeout = config.timeout;
  settings->output_limit = config.output_limit;

  std::vector<std::unique_ptr<opsgate::Action>> actions;
  for (const auto& [name, argv] : config.commands) {
    if (const auto problem = action_problem(name)) {
      throw ConfigError("actions.exec.commands." + name + ": " + *problem);
    }
    const ActionSpec& spec = *find_action(name);
    if (const auto problem = check_argv_template(argv, spec)) {
      throw ConfigError("actions.exec.commands." + name + ": " + *problem);
    }
    actions.push_back(std::make_unique<ExecAction>(spec, argv, settings, inventory, executor));
  }
  return actions;
}

}  // namespace opsgate::actions::exec
