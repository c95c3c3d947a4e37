#include <doctest/doctest.h>

#include "src/core/json_get.hpp"
#include "src/core/log_exception.hpp"

#include <stdexcept>

using nlohmann::json;
namespace jg = opsgate::json_get;

TEST_SUITE("core/json_get") {
  TEST_CASE("a field of the right type is read") {
    const json doc = {{"s", "text"}, {"i", -5}, {"u", 7u}, {"b", true}, {"o", {{"k", "v"}}}};
    CHECK(jg::string_at(doc, "s") == "text");
    CHECK(jg::int_at(doc, "i") == -5);
    CHECK(jg::int_at(doc, "u") == 7);
    CHECK(jg::bool_at(doc, "b"));
    CHECK(jg::string_at(jg::object_at(doc, "o"), "k") == "v");
  }

  TEST_CASE("missing keys, wrong types and non-objects give the fallback") {
    const json doc = {{"s", 1}, {"i", "1"}, {"f", 1.5}, {"big", 18446744073709551615u}, {"b", "true"}, {"o", json::array()}};
    CHECK(jg::string_at(doc, "s").empty());
    CHECK(jg::string_at(doc, "missing").empty());
    CHECK(jg::int_at(doc, "i", 9) == 9);
    CHECK(jg::int_at(doc, "f", 9) == 9);
    CHECK(jg::int_at(doc, "big", 9) == 9);
    CHECK_FALSE(jg::bool_at(doc, "b"));
    CHECK(jg::object_at(doc, "o").is_null());
    CHECK(jg::string_at(jg::object_at(doc, "o"), "deeper").empty());
    CHECK(jg::string_at(json::array({1, 2}), "s").empty());
    CHECK(jg::string_at(json("text"), "s").empty());
    CHECK(jg::int_at(json(), "i", 3) == 3);
  }
}

TEST_SUITE("core/log_exception") {
  TEST_CASE("exception_message names standard, non-standard and no exceptions") {
    CHECK(opsgate::exception_message(nullptr).empty());
    CHECK(opsgate::exception_message(std::make_exception_ptr(std::runtime_error("disk full"))) == "disk full");
    CHECK(opsgate::exception_message(std::make_exception_ptr(42)) == "a non-standard exception");
    opsgate::log_exception("a task", nullptr);  // no exception: nothing to log, no crash
  }
}
