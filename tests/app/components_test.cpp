// The registration tables of src/app/components.cpp: what a config names is
// built from the table, and what no entry has is refused with file:line and
// the list the table derives.

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include <boost/asio/io_context.hpp>

#include "src/app/components.hpp"
#include "src/core/config.hpp"
#include "src/net/http_server.hpp"
#include "tests/support/process.hpp"

using opsgate::test::TempDir;

namespace {

opsgate::Config config_from(const TempDir& dir, const std::string& rest) {
  const std::string text = "storage: {path: " + dir.file("o.db") + "}\n"  // 1
                           "environments: {prod: {}}\n"                   // 2
                           "targets: {checkout: {team: shop}}\n"          // 3
                           + rest;                                        // 4…
  return opsgate::load_config(opsgate::ConfigNode::parse(text, "c.yaml"));
}

std::string build_error(const TempDir& dir, const std::string& rest) {
  boost::asio::io_context io;
  try {
    const opsgate::Config config = config_from(dir, rest);
    (void)opsgate::app::build_components(config, io.get_executor());
  } catch (const opsgate::ConfigError& e) {
    return e.what();
  }
  return "(built)";
}

bool has_note(const opsgate::app::Components& c, const std::string& prefix) {
  return std::any_of(c.notes.begin(), c.notes.end(), [&](const std::string& n) { return n.rfind(prefix, 0) == 0; });
}

}  // namespace

TEST_SUITE("app/components") {
  TEST_CASE("an unknown adapter is refused at its line with every registered platform") {
    TempDir dir;
    const std::string error = build_error(dir, "adapters:\n  irc: {}\n");
    INFO(error);
    CHECK(error.find("c.yaml:5") != std::string::npos);
    CHECK(error.find("unknown adapter 'irc' (available: shell, slack, teams, discord)") != std::string::npos);
  }

  TEST_CASE("an unknown action backend is refused at its line with every registered backend") {
    TempDir dir;
    const std::string error = build_error(dir, "actions:\n  nagios: {}\n");
    INFO(error);
    CHECK(error.find("c.yaml:5") != std::string::npos);
    CHECK(error.find("unknown action backend 'nagios' (available: exec, kubernetes, prometheus, loki, logfile, "
                     "triage)") != std::string::npos);
  }

  TEST_CASE("an unknown parser in intent.parsers is refused at its line with every registered parser") {
    TempDir dir;
    const std::string error = build_error(dir, "intent:\n  parsers: [command, regex]\n");
    INFO(error);
    CHECK(error.find("c.yaml:5") != std::string::npos);
    CHECK(error.find("intent.parsers") != std::string::npos);
    CHECK(error.find("unknown parser 'regex' (available: command, nlu, llm)") != std::string::npos);
  }

  TEST_CASE("an unknown parser given as an override (eval variants) is refused too") {
    TempDir dir;
    const opsgate::Config config = config_from(dir, "");
    opsgate::app::ParserSetup setup;
    setup.parsers = std::vector<std::string>{"command", "regex"};
    CHECK_THROWS_WITH_AS(opsgate::app::build_parser(config, setup),
                         "unknown parser 'regex' (available: command, nlu, llm)", opsgate::ConfigError);
  }

  TEST_CASE("triage written before the backends it reads is built after them") {
    TempDir dir;
    const opsgate::Config config = config_from(
        dir, "actions:\n  triage: {}\n  logfile: {paths: [\"" + dir.file("{target}-{env}.log") + "\"]}\n");
    boost::asio::io_context io;
    const auto c = opsgate::app::build_components(config, io.get_executor());
    CHECK(c.actions.find("triage") != nullptr);
    CHECK(has_note(c, "action: logs.search via log files"));
    CHECK(has_note(c, "action: triage via"));
  }

  TEST_CASE("each enabled webhook platform is one chat adapter that installs its own routes") {
    TempDir dir;
    const opsgate::Config config = config_from(dir,
                                               "adapters:\n"
                                               "  discord: {application_id: \"1\", public_key: "
                                               "\"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\", "
                                               "bot_token: tok}\n");
    boost::asio::io_context io;
    auto c = opsgate::app::build_components(config, io.get_executor());
    REQUIRE(c.chat_adapters.size() == 1);
    CHECK(c.chat_adapters.front()->platform() == "discord");
    opsgate::net::HttpServer server(io.get_executor(), opsgate::net::HttpServerConfig{});
    struct NoSink : opsgate::EventSink {
      boost::asio::awaitable<void> on_event(opsgate::ChatEvent) override { co_return; }
    } sink;
    c.chat_adapters.front()->install_routes(server, sink);
    // The route is taken now: a second registration of it is refused.
    CHECK_THROWS_AS(server.route("POST", "/discord/interactions", {}), std::invalid_argument);
  }
}
