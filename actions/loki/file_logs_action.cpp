#include <chrono>
#include <exception>
#include <map>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "actions/loki/file_scan.hpp"
#include "actions/loki/log_answer.hpp"
#include "actions/loki/logs_action.hpp"
#include "src/core/time_zone.hpp"

namespace opsgate::actions::loki {

namespace {

namespace asio = boost::asio;

constexpr std::int64_t kMinBytesPerFile = 4 * 1024;
constexpr std::int64_t kMaxBytesPerFile = std::int64_t{1024} * 1024 * 1024;

// Placeholders a path may use; anything else in braces is a config error.
const std::regex& placeholder_re() {
  static const std::regex re(R"(\{([^{}]*)\})");
  return re;
}

std::optional<std::string> path_problem(const std::string& path) {
  if (path.empty()) {
    return "an empty path";
  }
  for (auto it = std::sregex_iterator(path.begin(), path.end(), placeholder_re()); it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1].str();
    if (name != "target" && name != "env" && name != "namespace" && name != "deployment") {
      return "unknown placeholder {" + name + "} in '" + path + "' (use {target}, {env}, {namespace}, {deployment})";
    }
  }
  return std::nullopt;
}

// Inventory values come from config, but a '/' or a glob character in one
// would make the path match files nobody meant.
bool safe_path_value(const std::string& value) {
  return !value.empty() && value.front() != '.' && value.find_first_of("/*?[]\\{}") == std::string::npos;
}

Result<std::vector<std::string>> fill_paths(const std::vector<std::string>& paths, const LogSearch& search,
                                            const TargetPlacement& placement) {
  const std::map<std::string, std::string> values{{"target", search.target},
                                                  {"env", search.env},
                                                  {"namespace", placement.namespace_name},
                                                  {"deployment", placement.deployment}};
  for (const auto& [name, value] : values) {
    if (!safe_path_value(value)) {
      return fail(Errc::invalid_input, "the " + name + " '" + value + "' cannot be part of a log file path");
    }
  }
  std::vector<std::string> out;
  for (const auto& path : paths) {
    std::string filled;
    auto last = path.cbegin();
    for (auto it = std::sregex_iterator(path.begin(), path.end(), placeholder_re()); it != std::sregex_iterator();
         ++it) {
      filled.append(last, path.cbegin() + it->position());
      filled += values.at((*it)[1].str());
      last = path.cbegin() + it->position() + it->length();
    }
    filled.append(last, path.cend());
    out.push_back(std::move(filled));
  }
  return out;
}

// Runs on the pool: blocking reads are fine here. Exceptions (allocation)
// become errors so that they never cross into the caller's executor.
asio::awaitable<Result<LogAnswer>> run_scan(FileScanJob job) {
  try {
    co_return scan_log_files(job);
  } catch (const std::exception& e) {
    co_return fail(Errc::internal, std::string("log file scan failed: ") + e.what());
  }
}

// The `logs.search` action over local log files. Built by
// make_file_logs_action and owned by the action registry; execute() may run
// on any strand, concurrently: scans run on the action's own thread pool.
class FileLogsAction final : public opsgate::Action {
 public:
  FileLogsAction(LogFileConfig config, TimeZone zone, std::shared_ptr<const Inventory> inventory, const Clock& clock)
      : spec_(*find_action("logs.search")),
        config_(std::move(config)),
        zone_(std::move(zone)),
        inventory_(std::move(inventory)),
        clock_(clock),
        pool_(config_.threads) {}

  // Joins the pool: a scan in progress finishes first.
  ~FileLogsAction() override { pool_.join(); }

  FileLogsAction(const FileLogsAction&) = delete;
  FileLogsAction& operator=(const FileLogsAction&) = delete;

  const ActionSpec& spec() const override { return spec_; }

  asio::awaitable<Result<ActionResult>> execute(ActionRequest request) override {
    auto search = read_log_search(request, config_.output.max_limit, *inventory_, clock_);
    if (!search) {
      co_return tl::unexpected(search.error());
    }
    auto patterns = fill_paths(config_.paths, *search, *search->placement);
    if (!patterns) {
      co_return tl::unexpected(patterns.error());
    }
    FileScanJob job;
    job.patterns = *patterns;
    job.format = config_.format;
    job.max_bytes_per_file = config_.max_bytes_per_file;
    job.max_files = config_.max_files;
    job.start_ns = search->start_ns;
    job.end_ns = search->end_ns;
    job.contains = search->contains;
    job.level = search->level;
    job.limit = search->limit;

    auto scan = run_scan(std::move(job));
    auto executor = pool_.get_executor();
    // The completion comes back to this coroutine's executor.
    auto scanned = co_await asio::co_spawn(executor, std::move(scan), asio::use_awaitable);
    if (!scanned) {
      const std::string where = search->target + " in " + search->env;
      co_return fail(scanned.error().code, "no logs for " + where + ": " + scanned.error().message);
    }
    co_return render_log_answer(*search, *scanned, zone_, config_.output.line_width);
  }

 private:
  const ActionSpec& spec_;  // an entry of the static catalogue
  LogFileConfig config_;
  TimeZone zone_;
  std::shared_ptr<const Inventory> inventory_;
  const Clock& clock_;
  asio::thread_pool pool_;
};

}  // namespace

LogFileConfig parse_logfile_config(const ConfigNode& node) {
  LogFileConfig config;
  config.paths = node.strings_or("paths");
  if (config.paths.empty()) {
    node.fail("paths", "expected a list of log file paths, e.g. [\"var/log/{target}-{env}.log\"]");
  }
  for (const auto& path : config.paths) {
    if (const auto problem = path_problem(path)) {
      node.fail("paths", *problem);
    }
  }
  config.format = node.choice_or<LineFormat>(
      "format", "auto", {{"auto", LineFormat::automatic}, {"logfmt", LineFormat::logfmt}, {"json", LineFormat::json}});
  config.max_bytes_per_file = static_cast<std::size_t>(node.integer_or(
      "max_bytes_per_file", static_cast<std::int64_t>(config.max_bytes_per_file), kMinBytesPerFile, kMaxBytesPerFile));
  config.max_files =
      static_cast<std::size_t>(node.integer_or("max_files", static_cast<std::int64_t>(config.max_files), 1, 1000));
  config.threads = static_cast<std::size_t>(node.integer_or("threads", static_cast<std::int64_t>(config.threads), 1, 16));
  config.output = read_log_output(node);
  node.finish();
  return config;
}

std::unique_ptr<opsgate::Action> make_file_logs_action(const LogFileConfig& config,
                                                       std::shared_ptr<const Inventory> inventory,
                                                       const Clock& clock) {
  if (!inventory) {
    throw ConfigError("actions.logfile: the file logs action needs the inventory");
  }
  if (config.paths.empty()) {
    throw ConfigError("actions.logfile.paths: at least one path is needed");
  }
  for (const auto& path : config.paths) {
    if (const auto problem = path_problem(path)) {
      throw ConfigError("actions.logfile.paths: " + *problem);
    }
  }
  if (config.threads < 1) {
    throw ConfigError("actions.logfile.threads: at least 1");
  }
  TimeZone zone = load_zone(config.output, "actions.logfile");
  return std::make_unique<FileLogsAction>(config, std::move(zone), std::move(inventory), clock);
}

}  // namespace opsgate::actions::loki
