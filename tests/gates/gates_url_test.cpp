// The gate config readers use the one outbound URL rule (src/net/outbound_url):
// parsed, not prefix-matched, so a look-alike host is not taken for loopback.

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "src/core/config_node.hpp"
#include "src/core/inventory.hpp"
#include "src/gates/azure.hpp"
#include "src/gates/gates_config.hpp"

namespace {

using opsgate::ConfigError;
using opsgate::ConfigNode;
using opsgate::Inventory;

std::string gates_with_callback(const std::string& url) {
  return "public_url: https://opsgate.example/\n"
         "channels:\n  default: test:C0OPS\n"
         "clients:\n  jenkins:\n    token: jenkins-token-0123456789abcdef\n    targets: ['*']\n    envs: ['*']\n"
         "    callback:\n      url: '" + url + "'\n      secret: callback-secret-0123456789\n";
}

// The config error's text, or "" when the callback URL is accepted.
std::string callback_error(const std::string& url) {
  const Inventory inventory;
  try {
    (void)opsgate::gates::parse_gates_config(ConfigNode::parse(gates_with_callback(url), "gates.yaml"), inventory);
    return "";
  } catch (const ConfigError& e) {
    return e.what();
  }
}

std::string azure_error(const std::string& org) {
  try {
    (void)opsgate::gates::parse_azure_config(ConfigNode::parse("organizations: ['" + org + "']\n", "azure.yaml"));
    return "";
  } catch (const ConfigError& e) {
    return e.what();
  }
}

TEST_SUITE("gates/gates_url") {
  TEST_CASE("a gate callback URL is https, or plain http to a loopback host only") {
    CHECK(callback_error("https://ci.example.com/hook") == "");
    CHECK(callback_error("http://127.0.0.1:8080/hook") == "");
    CHECK(callback_error("http://localhost:8080/hook") == "");
    CHECK(callback_error("http://[::1]:9090/hook") == "");
    for (const char* look_alike : {"http://localhost.evil.com/hook", "http://127.0.0.1.nip.io/hook",
                                   "http://localhost@evil.com/hook", "http://127.0.0.1@evil.com/hook"}) {
      CAPTURE(look_alike);
      const std::string error = callback_error(look_alike);
      CHECK(error.find("gates.yaml:") != std::string::npos);
      CHECK(error.find("url") != std::string::npos);
      CHECK(error.find("https://") != std::string::npos);
    }
  }

  TEST_CASE("an Azure organisation URL is https, or plain http to a loopback host only") {
    CHECK(azure_error("https://dev.azure.com/fabrikam/") == "");
    CHECK(azure_error("http://127.0.0.1:9000/fabrikam/") == "");
    CHECK(azure_error("http://[::1]:9090/fabrikam/") == "");
    for (const char* look_alike : {"http://127.0.0.1.nip.io/fabrikam/", "http://localhost.evil.com/fabrikam/",
                                   "http://localhost@evil.com/fabrikam/", "http://dev.azure.com/fabrikam/"}) {
      CAPTURE(look_alike);
      const std::string error = azure_error(look_alike);
      CHECK(error.find("azure.yaml:") != std::string::npos);
      CHECK(error.find("organizations") != std::string::npos);
    }
  }
}

}  // namespace
