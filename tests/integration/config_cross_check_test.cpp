// Requirements that span config sections: `opsgate config check` and
// `opsgate serve` refuse a configuration that could not work, naming
// file:line and key, instead of failing later in a channel.

#include <doctest/doctest.h>

#include "tests/support/process.hpp"

using opsgate::test::run_command;
using opsgate::test::TempDir;

namespace {

// Line numbers matter: the tests name them.
std::string config(const TempDir& dir, const std::string& actions, const std::string& alert_triage,
                   const std::string& default_channel, const std::string& subjects) {
  return "storage: {path: " + dir.file("o.db") + "}\n"          // 1
         "server: {listen: 127.0.0.1:0}\n"                       // 2
         "environments: {prod: {}}\n"                            // 3
         "targets: {checkout: {team: shop}}\n"                   // 4
         "intent: {parsers: [command]}\n"                        // 5
         "adapters: {shell: {enabled: true}}\n"                  // 6
         "actions:\n"                                            // 7
         "  logfile: {paths: [\"" + dir.file("{target}-{env}.log") + "\"]}\n"  // 8
         + actions +                                             // 9 (one line or empty)
         "policy:\n"                                             // 10
         "  roles: {alert-triage: {actions: [triage]}}\n"        // 11
         "  bindings: [{subjects: [" + subjects + "], roles: [alert-triage]}]\n"  // 12
         "alertmanager:\n"                                       // 13
         "  token: 0123456789abcdef0123456789\n"                 // 14
         "  triage: " + alert_triage + "\n"                      // 15
         "  channels:\n"                                         // 16
         "    default: " + default_channel + "\n";               // 17
}

std::string check(const TempDir& dir, const std::string& text) {
  dir.write("c.yaml", text);
  const auto out = run_command(std::string(OPSGATE_BINARY) + " config check --config " + dir.file("c.yaml") + " 2>&1");
  return "exit=" + std::to_string(out.exit_code) + " " + out.out;
}

}  // namespace

TEST_SUITE("integration/config_cross_check") {
  TEST_CASE("alertmanager.triage without an actions.triage section is refused with file:line, by check and serve") {
    TempDir dir;
    const std::string text = config(dir, "\n", "true", "shell:terminal", "system:alertmanager");
    const std::string out = check(dir, text);
    INFO(out);
    CHECK(out.rfind("exit=1 ", 0) == 0);
    CHECK(out.find(dir.file("c.yaml") + ":15: alertmanager.triage: is true, but no `triage` action is configured") !=
          std::string::npos);
    CHECK(out.find("add an `actions.triage` section") != std::string::npos);

    const auto serve = run_command(std::string(OPSGATE_BINARY) + " serve --config " + dir.file("c.yaml") +
                                   " </dev/null 2>&1");
    INFO(serve.out);
    CHECK(serve.exit_code != 0);
    CHECK(serve.out.find(dir.file("c.yaml") + ":15: alertmanager.triage:") != std::string::npos);

    // What it says to do works.
    CHECK(check(dir, config(dir, "  triage: {}\n", "true", "shell:terminal", "system:alertmanager")).rfind("exit=0 ", 0) == 0);
    CHECK(check(dir, config(dir, "\n", "false", "shell:terminal", "system:alertmanager")).rfind("exit=0 ", 0) == 0);
  }

  TEST_CASE("an alert channel on a platform whose adapter is not enabled is warned about with file:line") {
    TempDir dir;
    const std::string out = check(dir, config(dir, "  triage: {}\n", "true", "slack:C0123", "system:alertmanager"));
    INFO(out);
    CHECK(out.rfind("exit=0 ", 0) == 0);
    CHECK(out.find("opsgate: warning: " + dir.file("c.yaml") +
                   ":17: alertmanager.channels.default: posts to slack:C0123, but no slack adapter is enabled") !=
          std::string::npos);
  }

  TEST_CASE("an alertmanager principal the policy does not allow to triage is refused") {
    TempDir dir;
    const std::string out = check(dir, config(dir, "  triage: {}\n", "true", "shell:terminal", "shell:nobody"));
    INFO(out);
    CHECK(out.rfind("exit=1 ", 0) == 0);
    CHECK(out.find(":15: alertmanager.triage: the policy allows system:alertmanager to run triage for no target") !=
          std::string::npos);
  }
}
