#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "actions/exec/argv_template.hpp"
#include "src/core/action_catalogue.hpp"
#include "tests/actions/exec_test_support.hpp"

using opsgate::ActionRequest;
using opsgate::Errc;
using opsgate::actions::exec::check_argv_template;
using opsgate::actions::exec::is_safe_value;
using opsgate::actions::exec::placeholder_values;
using opsgate::actions::exec::placeholders_in;
using opsgate::actions::exec::render_argv;

namespace {

using Values = std::map<std::string, std::string>;
using Argv = std::vector<std::string>;

}  // namespace

TEST_SUITE("actions/exec/argv_template") {
  TEST_CASE("names, numbers and versions are safe values") {
    for (const char* value : {"cart", "payments-api", "1.0.0", "v2.4.1-rc1", "5", "0", "shop_prod", "A"}) {
      CHECK_MESSAGE(is_safe_value(value), value);
    }
    CHECK(is_safe_value(std::string(128, 'a')));
  }

  TEST_CASE("shell syntax, whitespace, control characters and option-like values are refused") {
    for (const char* value : {"cart; rm -rf /", "$(id)", "`id`", "-rf", "--force", "cart\n", "cart prod", "a|b",
                              "a&b", "a>b", "../etc", "a/b", "'quoted'", "\"x\"", "*", "", "cart\t", "x\x7f"}) {
      CHECK_MESSAGE(!is_safe_value(value), value);
    }
    CHECK_FALSE(is_safe_value(std::string(129, 'a')));
    CHECK_FALSE(is_safe_value(std::string("ca\0rt", 5)));
  }

  TEST_CASE("placeholders are substituted inside arguments and doubled braces are literal") {
    const auto argv = render_argv({"kubectl", "-n={namespace}", "deployment/{deployment}", "{{.spec}}", "x}}"},
                                  Values{{"namespace", "shop-prod"}, {"deployment", "cart"}}, "restart");
    REQUIRE(argv);
    CHECK(*argv == Argv{"kubectl", "-n=shop-prod", "deployment/cart", "{.spec}", "x}"});
  }

  TEST_CASE("an optional placeholder is dropped when absent and kept when given") {
    const Argv templ{"backend", "undo", "{env}", "{target}", "{revision?}"};
    const auto without = render_argv(templ, Values{{"env", "prod"}, {"target", "cart"}}, "rollout.undo");
    REQUIRE(without);
    CHECK(*without == Argv{"backend", "undo", "prod", "cart"});
    const auto with = render_argv(templ, Values{{"env", "prod"}, {"target", "cart"}, {"revision", "4"}}, "rollout.undo");
    REQUIRE(with);
    CHECK(*with == Argv{"backend", "undo", "prod", "cart", "4"});
  }

  TEST_CASE("a required placeholder without a value is refused") {
    const auto argv = render_argv({"backend", "{revision}"}, Values{{"target", "cart"}}, "rollout.undo");
    REQUIRE_FALSE(argv);
    CHECK(argv.error().code == Errc::invalid_input);
    CHECK(argv.error().message.find("needs a revision") != std::string::npos);
    const auto placement = render_argv({"backend", "{namespace}"}, Values{{"target", "cart"}, {"env", "dev"}}, "restart");
    REQUIRE_FALSE(placement);
    CHECK(placement.error().code == Errc::not_found);
    CHECK(placement.error().message.find("namespace of cart in dev") != std::string::npos);
  }

  TEST_CASE("an injection attempt is refused before anything is substituted") {
    for (const char* hostile : {"cart; rm -rf /", "$(id)", "-rf", "cart\nprod", "cart prod", "`id`"}) {
      const auto argv = render_argv({"backend", "restart", "{env}", "{target}"},
                                    Values{{"env", "prod"}, {"target", hostile}}, "restart");
      REQUIRE_FALSE(argv);
      CHECK(argv.error().code == Errc::invalid_input);
      CHECK(argv.error().message.find("refusing to run `restart`: the target") == 0);
    }
    // Even a value the template does not use refuses the whole request.
    const auto unused = render_argv({"backend"}, Values{{"version", "$(id)"}}, "restart");
    REQUIRE_FALSE(unused);
    CHECK(unused.error().code == Errc::invalid_input);
  }

  TEST_CASE("a refused value is shown with control characters escaped") {
    const auto argv = render_argv({"backend"}, Values{{"target", "cart\nrm"}}, "restart");
    REQUIRE_FALSE(argv);
    CHECK(argv.error().message.find("'cart\\nrm'") != std::string::npos);
    CHECK(argv.error().message.find('\n') == std::string::npos);
  }

  TEST_CASE("values come from the request and the inventory placement, never a request's namespace") {
    const auto inventory = opsgate::test_exec::test_inventory();
    ActionRequest request{"scale", {{"target", "cart"}, {"env", "staging"}, {"replicas", 5},
                                    {"namespace", "kube-system"}, {"deployment", "coredns"}}};
    const auto values = placeholder_values(request, *inventory);
    REQUIRE(values);
    CHECK(values->at("target") == "cart");
    CHECK(values->at("env") == "staging");
    CHECK(values->at("replicas") == "5");
    CHECK(values->at("namespace") == "shop-staging");
    CHECK(values->at("deployment") == "cart");
  }

  TEST_CASE("a parameter that is neither text nor a whole number is refused") {
    const auto inventory = opsgate::test_exec::test_inventory();
    ActionRequest request{"scale", {{"target", "cart"}, {"env", "prod"}, {"replicas", 2.5}}};
    const auto values = placeholder_values(request, *inventory);
    REQUIRE_FALSE(values);
    CHECK(values.error().code == Errc::invalid_input);
    ActionRequest list{"restart", {{"target", {"cart", "checkout"}}, {"env", "prod"}}};
    CHECK_FALSE(placeholder_values(list, *inventory));
  }

  TEST_CASE("template checks follow the action's parameters") {
    const auto& restart = *opsgate::find_action("restart");
    const auto& undo = *opsgate::find_action("rollout.undo");
    CHECK_FALSE(check_argv_template({"b", "{target}", "{env}", "{namespace}", "{deployment}"}, restart));
    CHECK(check_argv_template({"b", "{revision}"}, restart));
    CHECK_FALSE(check_argv_template({"b", "{revision?}"}, undo));
    CHECK(check_argv_template({"b", "x{revision?}"}, undo));
    CHECK(check_argv_template({}, restart));
    CHECK(placeholders_in({"b", "{env}/{target}", "{revision?}", "{{env}}"}) ==
          std::vector<std::string>{"env", "target", "revision"});
  }
}
