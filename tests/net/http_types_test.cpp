#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "src/net/http_types.hpp"

using opsgate::net::HttpRequest;
using opsgate::net::HttpResponse;

TEST_SUITE("net/http_types") {
  TEST_CASE("header lookup ignores case and tells absent from empty") {
    HttpRequest request;
    request.headers = {{"X-Slack-Signature", "v0=abc"}, {"X-Empty", ""}, {"x-slack-signature", "second"}};
    CHECK(request.header("x-slack-SIGNATURE") == "v0=abc");
    REQUIRE(request.header("X-Empty").has_value());
    CHECK(request.header("X-Empty")->empty());
    CHECK_FALSE(request.header("X-Missing").has_value());
    CHECK(request.header_or_empty("X-Missing").empty());
  }

  TEST_CASE("a JSON response replaces invalid UTF-8 instead of throwing") {
    const auto response = HttpResponse::json(502, nlohmann::json{{"text", std::string("bad \xff byte")}});
    CHECK(response.status == 502);
    CHECK(response.content_type == "application/json");
    CHECK(response.body == "{\"text\":\"bad \xEF\xBF\xBD byte\"}");
  }

  TEST_CASE("a text response is UTF-8 plain text") {
    const auto response = HttpResponse::text(201, "created");
    CHECK(response.status == 201);
    CHECK(response.content_type == "text/plain; charset=utf-8");
    CHECK(response.body == "created");
  }
}
