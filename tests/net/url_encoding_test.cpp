#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "src/net/url_encoding.hpp"

TEST_SUITE("net/url_encoding") {
  TEST_CASE("a form body decodes what form_encode wrote, '+' is a space, a bare name is empty") {
    using opsgate::net::decode_form;
    using opsgate::net::form_encode;
    const std::string tricky = "a b+c&d=e%f/\xc3\xa9";
    const auto round = decode_form(form_encode({{"text", tricky}, {"channel", "C0OPS"}}));
    CHECK(round.at("text") == tricky);
    CHECK(round.at("channel") == "C0OPS");
    const auto plus = decode_form("text=restart+cart&ssl_check&n=1&n=2");
    CHECK(plus.at("text") == "restart cart");
    CHECK(plus.at("ssl_check").empty());
    CHECK(plus.at("n") == "2");
  }

  TEST_CASE("a body that is not percent-encoding decodes to nothing") {
    using opsgate::net::decode_form;
    CHECK(decode_form("a=%zz").empty());
    CHECK(decode_form("a=1&b=%4").empty());
    CHECK(decode_form("").empty());
  }

  TEST_CASE("a form is read within its view: no read past a buffer without a NUL") {
    // Exactly 7 bytes, no terminator: Boost.URL 1.81's parse_query ran strlen
    // here, a heap over-read that the sanitizer build reports (found by fuzzing).
    const std::string_view text = "a=1&b=2";
    const auto raw = std::make_unique<char[]>(text.size());
    std::memcpy(raw.get(), text.data(), text.size());
    const auto fields = opsgate::net::decode_form(std::string_view(raw.get(), text.size()));
    CHECK(fields.size() == 2);
    CHECK(fields.at("b") == "2");
  }
}
