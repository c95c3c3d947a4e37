#include "src/app/eval_command.hpp"

#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "src/app/components.hpp"
#include "src/intent/eval.hpp"

namespace opsgate::app {

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, sep)) {
    out.push_back(item);
  }
  return out;
}

ParserSetup setup_for(const VariantSpec& spec, net::HttpClient& http) {
  ParserSetup setup;
  setup.http = &http;
  for (const auto& [key, value] : spec.overrides) {
    if (key == "intent.parsers") {
      setup.parsers = split(value, ',');
    } else if (key == "intent.min_confidence" || key == "intent.min_confidence_percent") {
      char* end = nullptr;
      double v = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || v < 0 || v > 100) {
        throw std::invalid_argument("variant " + spec.name + ": " + key + " must be a number, got '" + value + "'");
      }
      setup.min_confidence = key == "intent.min_confidence_percent" || v > 1.0 ? v / 100.0 : v;
    } else if (key == "llm.connection") {
      setup.connection = value;
    } else if (key == "llm.prompt") {
      setup.prompt = value;
    } else {
      throw std::invalid_argument("variant " + spec.name + ": unknown override '" + key +
                                  "' (known: intent.parsers, intent.min_confidence, llm.connection, llm.prompt)");
    }
  }
  return setup;
}

}  // namespace

ParseResult parse_blocking(boost::asio::io_context& io, const IntentParser& parser, const std::string& text) {
  ParseInput input;
  input.text = text;
  input.platform = "eval";
  input.channel = "eval";
  input.principal = "eval";
  input.addressed = true;
  std::optional<ParseResult> result;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, parser.parse_async(std::move(input)), [&](std::exception_ptr e, ParseResult r) {
    failure = e;
    if (!e) {
      result.emplace(std::move(r));
    }
  });
  io.run();
  io.restart();
  if (failure) {
    std::rethrow_exception(failure);
  }
  return std::move(*result);
}

std::string VariantSpec::description() const {
  std::string out;
  for (const auto& [key, value] : overrides) {
    out += (out.empty() ? "" : " ") + key + "=" + value;
  }
  return out.empty() ? "the config as written" : out;
}

VariantSpec parse_variant(const std::string& text) {
  const auto eq = text.find('=');
  VariantSpec spec;
  spec.name = text.substr(0, eq);
  if (spec.name.empty()) {
    throw std::invalid_argument("--variant needs NAME=OVERRIDES, e.g. builtin=intent.parsers=command,nlu");
  }
  if (eq == std::string::npos) {
    return spec;
  }
  for (const auto& piece : split(text.substr(eq + 1), ',')) {
    const auto at = piece.find('=');
    if (at == std::string::npos) {
      if (spec.overrides.empty()) {
        throw std::invalid_argument("variant " + spec.name + ": '" + piece + "' is not key=value");
      }
      spec.overrides.back().second += "," + piece;
      continue;
    }
    spec.overrides.emplace_back(piece.substr(0, at), piece.substr(at + 1));
  }
  return spec;
}

int run_eval(const Config& config, const EvalOptions& options) {
  std::vector<VariantSpec> specs;
  for (const auto& text : options.variants) {
    specs.push_back(parse_variant(text));
  }
  if (specs.empty()) {
    specs.push_back(VariantSpec{"config", {}});
  }
  boost::asio::io_context io;
  net::HttpClient http;
  std::vector<intent::VariantReport> reports;
  bool invalid = false;
  for (const auto& spec : specs) {
    const ParserSetup setup = setup_for(spec, http);
    const auto parser = build_parser(config, setup);
    std::ifstream in(options.dataset);
    if (!in) {
      std::fprintf(stderr, "opsgate: cannot read %s\n", options.dataset.c_str());
      return 1;
    }
    const intent::EvalReport report = intent::evaluate(
        [&io, &parser](const std::string& text) { return parse_blocking(io, *parser, text); }, in);
    invalid = invalid || !report.invalid_lines.empty();
    reports.push_back({spec.name, spec.description(), report});
  }

  if (options.json) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& r : reports) {
      out[r.name] = intent::to_json(r.report);
      out[r.name]["description"] = r.description;
    }
    std::cout << (reports.size() == 1 && options.variants.empty() ? intent::to_json(reports.front().report) : out)
                     .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    for (const auto& r : reports) {
      if (reports.size() > 1 || !options.variants.empty()) {
        std::cout << "== " << r.name << " (" << r.description << ")\n";
      }
      std::cout << intent::format_report(r.report) << (reports.size() > 1 ? "\n" : "");
    }
  }
  if (options.report_dir) {
    std::error_code ec;
    std::filesystem::create_directories(*options.report_dir, ec);
    const std::filesystem::path dir(*options.report_dir);
    std::ofstream csv(dir / "report.csv", std::ios::binary);
    intent::write_csv(reports, csv);
    std::ofstream page(dir / "report.html", std::ios::binary);
    page << intent::render_html(reports, options.dataset);
    if (!csv || !page) {
      std::fprintf(stderr, "opsgate: cannot write the report to %s\n", options.report_dir->c_str());
      return 1;
    }
    std::fprintf(stderr, "opsgate: wrote %s and %s\n", (dir / "report.csv").c_str(), (dir / "report.html").c_str());
  }
  return invalid ? 1 : 0;
}

}  // namespace opsgate::app
