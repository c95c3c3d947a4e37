#include <chrono>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/use_awaitable.hpp>

#include "actions/loki/log_answer.hpp"
#include "actions/loki/logql.hpp"
#include "actions/loki/logs_action.hpp"
#include "actions/loki/loki_response.hpp"
#include "src/core/time_zone.hpp"

namespace opsgate::actions::loki {

namespace {

namespace asio = boost::asio;

std::string source_phrase(const std::string& selector) { return "the selector is " + selector; }

// The `logs.search` action over Loki's HTTP API. Built by make_loki_logs_action
// and owned by the action registry; execute() may run on any strand, concurrently:
// it only reads its members.
class LokiLogsAction final : public opsgate::Action {
 public:
  LokiLogsAction(LokiConfig config, TimeZone zone, std::shared_ptr<const Inventory> inventory,
                 net::HttpClient& client, const Clock& clock)
      : spec_(*find_action("logs.search")),
        config_(std::move(config)),
        zone_(std::move(zone)),
        inventory_(std::move(inventory)),
        client_(client),
        clock_(clock) {}

  const ActionSpec& spec() const override { return spec_; }

  asio::awaitable<Result<ActionResult>> execute(ActionRequest request) override {
    auto search = read_log_search(request, config_.output.max_limit, *inventory_, clock_);
    if (!search) {
      co_return tl::unexpected(search.error());
    }
    const std::string& selector = search->placement->loki_selector;
    if (selector.empty()) {
      co_return fail(Errc::not_found, search->target + " has no Loki stream selector in " + search->env);
    }
    const LogqlSearch logql{selector, search->contains, search->level, config_.level_filter, config_.level_label};
    const std::string lines_query = build_lines_query(logql);

    const std::vector<std::pair<std::string, std::string>> params{
        {"query", lines_query},
        {"start", std::to_string(search->start_ns)},
        {"end", std::to_string(search->end_ns)},
        {"limit", std::to_string(search->limit)},
        {"direction", "backward"}};
    net::HttpClientRequest lines_request = request_for("/loki/api/v1/query_range?" + net::form_encode(params));
    auto lines_response = co_await client_.send(std::move(lines_request));
    if (!lines_response) {
      co_return fail(lines_response.error().code, "Loki: " + lines_response.error().message);
    }
    if (lines_response->status != 200) {
      Error error = loki_http_error(*lines_response);
      if (lines_response->status == 400) {
        error.message += "; the query was " + lines_query;
      }
      co_return tl::unexpected(std::move(error));
    }
    auto entries = parse_streams(lines_response->body, config_.level_label, search->limit);
    if (!entries) {
      co_return tl::unexpected(entries.error());
    }

    LogAnswer answer;
    answer.backend = "loki";
    answer.source = source_phrase(selector);
    answer.entries = std::move(*entries);
    // Loki stops at `limit`: a full page probably means more lines match.
    answer.more = answer.entries.size() >= search->limit;
    answer.data = {{"query", lines_query}};

    const auto count_query = config_.level_counts ? build_level_count_query(logql, search->range_s) : std::nullopt;
    if (count_query) {
      answer.data["count_query"] = *count_query;
      const std::vector<std::pair<std::string, std::string>> count_params{{"query", *count_query},
                                                                          {"time", std::to_string(search->end_ns)}};
      net::HttpClientRequest count_request = request_for("/loki/api/v1/query?" + net::form_encode(count_params));
      auto count_response = co_await client_.send(std::move(count_request));
      add_counts(answer, *search, count_response);
    }
    if (!answer.levels) {
      answer.levels = count_levels(answer.entries);
    }
    co_return render_log_answer(*search, answer, zone_, config_.output.line_width);
  }

 private:
  net::HttpClientRequest request_for(std::string path_and_query) const {
    net::HttpClientRequest request = net::make_request(config_.connection, "GET", std::move(path_and_query));
    if (!config_.tenant.empty()) {
      request.headers.emplace_back("X-Scope-OrgID", config_.tenant);
    }
    return request;
  }

  // The counts per level over the whole range, when Loki could give them;
  // otherwise a note, and the caller counts the returned lines.
  void add_counts(LogAnswer& answer, const LogSearch& search, const Result<net::HttpClientResponse>& response) const {
    if (!response) {
      answer.notes.push_back("level counts unavailable: " + response.error().message);
      return;
    }
    if (response->status != 200) {
      answer.notes.push_back("level counts unavailable: " + loki_http_error(*response).message);
      return;
    }
    auto parsed = parse_level_counts(response->body, config_.level_label);
    if (!parsed) {
      answer.notes.push_back("level counts unavailable: " + parsed.error().message);
      return;
    }
    if (!parsed->labelled) {
      if (!parsed->counts.by_level.empty()) {
        answer.notes.push_back("Loki's counts carry no `" + config_.level_label +
                               "` label; the levels were counted in the lines shown");
      }
      return;
    }
    std::int64_t matching = 0;
    for (const auto& [level, count] : parsed->counts.by_level) {
      if (search.level.empty() || level == search.level) {
        matching += count;
      }
    }
    // With counts over the range it is known whether more lines match.
    answer.more = matching > static_cast<std::int64_t>(answer.entries.size());
    answer.levels = std::move(parsed->counts);
  }

  const ActionSpec& spec_;  // an entry of the static catalogue
  LokiConfig config_;
  TimeZone zone_;
  std::shared_ptr<const Inventory> inventory_;
  net::HttpClient& client_;
  const Clock& clock_;
};

}  // namespace

LokiConfig parse_loki_config(const ConfigNode& node) {
  static const std::regex tenant_re(R"(^[A-Za-z0-9_.!*'()|-]{1,150}$)");
  LokiConfig config;
  config.connection = net::parse_backend_connection(node);
  config.tenant = node.str_or("tenant", "");
  if (!config.tenant.empty() && !std::regex_match(config.tenant, tenant_re)) {
    node.fail("tenant", "a Loki tenant id is 1 to 150 letters, digits and _ . ! * ' ( ) - (| joins tenants)");
  }
  config.level_filter = node.choice_or<LevelFilter>("level_filter", "label",
                                                    {{"label", LevelFilter::label},
                                                     {"logfmt", LevelFilter::logfmt},
                                                     {"json", LevelFilter::json},
                                                     {"line", LevelFilter::line}});
  config.level_label = node.str_or("level_label", config.level_label);
  if (!is_label_name(config.level_label)) {
    node.fail("level_label", "'" + config.level_label + "' is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)");
  }
  config.level_counts = node.boolean_or("level_counts", config.level_counts);
  config.output = read_log_output(node);
  node.finish();
  return config;
}

std::unique_ptr<opsgate::Action> make_loki_logs_action(const LokiConfig& config,
                                                       std::shared_ptr<const Inventory> inventory,
                                                       net::HttpClient& client, const Clock& clock) {
  if (!inventory) {
    throw ConfigError("actions.loki: the Loki logs action needs the inventory");
  }
  if (!is_label_name(config.level_label)) {
    throw ConfigError("actions.loki.level_label: '" + config.level_label + "' is not a label name");
  }
  for (const auto& target : inventory->targets()) {
    for (const auto& [env, placement] : target.placements) {
      const std::string& selector = placement.loki_selector;
      if (!selector.empty() && (selector.size() < 2 || selector.front() != '{' || selector.back() != '}')) {
        throw ConfigError("targets." + target.name + ": the Loki selector in " + env +
                          " needs braces, e.g. {app=\"" + target.name + "\"}; got '" + selector + "'");
      }
    }
  }
  TimeZone zone = load_zone(config.output, "actions.loki");
  return std::make_unique<LokiLogsAction>(config, std::move(zone), std::move(inventory), client, clock);
}

}  // namespace opsgate::actions::loki
