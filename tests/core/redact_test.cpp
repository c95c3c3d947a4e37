#include <doctest/doctest.h>

#include <string>

#include "src/core/redact.hpp"

using opsgate::redact_secrets;

TEST_SUITE("core/redact") {
  TEST_CASE("bearer tokens and Authorization headers are hidden, the scheme stays") {
    CHECK(redact_secrets("Authorization: Bearer abc.def-123") == "Authorization: Bearer [REDACTED]");
    CHECK(redact_secrets("sent header authorization=\"Bearer s3cr3t-token\" to upstream") ==
          "sent header authorization=\"[REDACTED]\" to upstream");
    CHECK(redact_secrets("curl -H 'Authorization: Basic dXNlcjpwYXNz' x") == "curl -H 'Authorization: Basic [REDACTED]' x");
    CHECK(redact_secrets("retry with bearer eyJhbGciOiJIUzI1NiJ9x") == "retry with bearer [REDACTED]");
    CHECK(redact_secrets("{\"authorization\":\"Bearer abcdefgh12345\"}") == "{\"authorization\":\"[REDACTED]\"}");
  }

  TEST_CASE("prose about bearer tokens is not a token") {
    CHECK(redact_secrets("bearer authentication failed") == "bearer authentication failed");
    CHECK(redact_secrets("missing bearer") == "missing bearer");
    CHECK(redact_secrets("Bearer short1") == "Bearer short1");
  }

  TEST_CASE("logfmt, URL query, JSON and ini values of secret keys are hidden") {
    CHECK(redact_secrets("level=error msg=\"login failed\" user=bob password=hunter2 trace=abc") ==
          "level=error msg=\"login failed\" user=bob password=[REDACTED] trace=abc");
    CHECK(redact_secrets("db_password=\"two words\" next=1") == "db_password=\"[REDACTED]\" next=1");
    CHECK(redact_secrets("passwd=x token=t0k secret=s api_key=k") ==
          "passwd=[REDACTED] token=[REDACTED] secret=[REDACTED] api_key=[REDACTED]");
    CHECK(redact_secrets("GET /cb?code=1&access_token=abc123&state=x HTTP/1.1") ==
          "GET /cb?code=1&access_token=[REDACTED]&state=x HTTP/1.1");
    CHECK(redact_secrets(R"({"user":"bob","password":"hunter2","n":1})") ==
          R"({"user":"bob","password":"[REDACTED]","n":1})");
    CHECK(redact_secrets(R"({"password": "a \"quoted\" pw", "ok": true})") ==
          R"({"password": "[REDACTED]", "ok": true})");
    CHECK(redact_secrets(R"({"client_secret": 12345})") == R"({"client_secret": [REDACTED]})");
    CHECK(redact_secrets(R"(msg="body {\"password\":\"hunter2\"}")") == R"(msg="body {\"password\":\"[REDACTED]\"}")");
    CHECK(redact_secrets("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") ==
          "aws_secret_access_key = [REDACTED]");
    CHECK(redact_secrets("X-Api-Key: abc") == "X-Api-Key: [REDACTED]");
    CHECK(redact_secrets("password: hunter2") == "password: [REDACTED]");
    CHECK(redact_secrets("msg=\"retry with password=hunter2\"") == "msg=\"retry with password=[REDACTED]\"");
    CHECK(redact_secrets("token='abc def'") == "token='[REDACTED]'");
  }

  TEST_CASE("keys that only resemble secret keys, and prose, stay readable") {
    CHECK(redact_secrets("invalid token: expired") == "invalid token: expired");
    CHECK(redact_secrets("password_reset=true tokens=5 secret_name=db") == "password_reset=true tokens=5 secret_name=db");
    CHECK(redact_secrets("level=info msg=\"user changed password\"") == "level=info msg=\"user changed password\"");
    CHECK(redact_secrets("password= ") == "password= ");
    CHECK(redact_secrets("token=") == "token=");
    CHECK(redact_secrets("see https://example.com/token://x") == "see https://example.com/token://x");
  }

  TEST_CASE("URL userinfo keeps the user and hides the password") {
    CHECK(redact_secrets("dial postgres://app:s3cret@db:5432/shop failed") ==
          "dial postgres://app:[REDACTED]@db:5432/shop failed");
    CHECK(redact_secrets("GET https://example.com/a@b") == "GET https://example.com/a@b");
    CHECK(redact_secrets("https://user@host/") == "https://user@host/");
  }

  TEST_CASE("credentials recognisable by their shape are hidden wherever they are") {
    CHECK(redact_secrets("key id AKIAIOSFODNN7EXAMPLE used") == "key id [REDACTED] used");
    CHECK(redact_secrets("ASIAY34FZKBOKMUTVV7A,") == "[REDACTED],");
    CHECK(redact_secrets("AKIA1234") == "AKIA1234");
    CHECK(redact_secrets("AKIAIOSFODNN7EXAMPLEX") == "AKIAIOSFODNN7EXAMPLEX");
    CHECK(redact_secrets("jwt=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature-1 ok") == "jwt=[REDACTED] ok");
    CHECK(redact_secrets("id eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0. end") == "id [REDACTED] end");
    CHECK(redact_secrets("eyJust.a.word") == "eyJust.a.word");
    CHECK(redact_secrets("slack xoxb-123456789012-abcdefABCDEF done") == "slack [REDACTED] done");
    CHECK(redact_secrets("xoxz-123456789012-abc") == "xoxz-123456789012-abc");
    CHECK(redact_secrets("gh ghp_abcdefghijklmnopqrstuvwxyz0123456789 x") == "gh [REDACTED] x");
    CHECK(redact_secrets("github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz") == "[REDACTED]");
    CHECK(redact_secrets("ghp_short") == "ghp_short");
  }

  TEST_CASE("PEM private key blocks are hidden from BEGIN to END") {
    CHECK(redact_secrets("key=-----BEGIN RSA PRIVATE KEY-----\\nMIIEow\\n-----END RSA PRIVATE KEY----- loaded") ==
          "key=[REDACTED] loaded");
    CHECK(redact_secrets("-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXk") == "[REDACTED]");
    CHECK(redact_secrets("-----BEGIN CERTIFICATE----- MIIB -----END CERTIFICATE-----") ==
          "-----BEGIN CERTIFICATE----- MIIB -----END CERTIFICATE-----");
  }

  TEST_CASE("redacting twice changes nothing more, and plain lines pass unchanged") {
    const std::string once = redact_secrets("password=hunter2 Authorization: Bearer abcdefgh1 token=\"x\" "
                                            "https://u:p@h/ \\\"secret\\\":\\\"s\\\"");
    CHECK(once == "password=[REDACTED] Authorization: Bearer [REDACTED] token=\"[REDACTED]\" "
                  "https://u:[REDACTED]@h/ \\\"secret\\\":\\\"[REDACTED]\\\"");
    CHECK(redact_secrets(once) == once);
    const std::string plain = "ts=2026-01-01T12:00:00Z level=info msg=\"GET /api/cart 200\" duration_ms=12";
    CHECK(redact_secrets(plain) == plain);
    CHECK(redact_secrets("") == "");
    CHECK(redact_secrets("héllo wörld password=pässwort") == "héllo wörld password=[REDACTED]");
  }

  TEST_CASE("a long line with twenty secrets has every one redacted and the rest kept") {
    // How fast: bench/micro_bench.cpp (BM_RedactPerLine); a test only states what comes out.
    std::string line;
    std::string expected;
    for (int i = 0; i < 20; ++i) {
      const std::string n = std::to_string(i);
      line += "level=info msg=\"GET /api/items?id=" + n + " 200\" user=bob token=abc" + n + " duration_ms=12 ";
      expected += "level=info msg=\"GET /api/items?id=" + n + " 200\" user=bob token=[REDACTED] duration_ms=12 ";
    }
    CHECK(redact_secrets(line) == expected);
  }
}
