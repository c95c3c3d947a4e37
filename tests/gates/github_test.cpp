// GitHub's webhook signature (the published test vector) and the app JWT.

#include <doctest/doctest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "adapters/teams/jwt.hpp"
#include "src/gates/github.hpp"
#include "tests/support/process.hpp"

using namespace opsgate;
using namespace opsgate::gates;

TEST_SUITE("gates/github") {
  TEST_CASE("X-Hub-Signature-256 matches GitHub's published example and nothing else") {
    const std::string header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    CHECK(github_signature_ok("It's a Secret to Everybody", "Hello, World!", header));
    CHECK_FALSE(github_signature_ok("It's a Secret to Everybody", "Hello, World?", header));
    CHECK_FALSE(github_signature_ok("another secret", "Hello, World!", header));
    CHECK_FALSE(github_signature_ok("It's a Secret to Everybody", "Hello, World!", ""));
    CHECK_FALSE(github_signature_ok("It's a Secret to Everybody", "Hello, World!", header.substr(7)));
  }

  TEST_CASE("the app JWT is RS256 over iat = now - 60, exp = now + 540 and iss, verifiable with the public key") {
    test::TempDir dir;
    REQUIRE(test::run_command("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + dir.file("key.pem") +
                              " 2>/dev/null && openssl pkey -in " + dir.file("key.pem") + " -pubout -out " +
                              dir.file("pub.pem"))
                .exit_code == 0);
    auto jwt = github_app_jwt(dir.read("key.pem"), "Iv23liTEST", 1795600800);
    REQUIRE(jwt);
    auto decoded = adapters::teams::decode_jwt(*jwt);
    REQUIRE(decoded);
    CHECK(decoded->alg == "RS256");
    CHECK(decoded->claims["iss"] == "Iv23liTEST");
    CHECK(decoded->claims["iat"] == 1795600800 - 60);
    CHECK(decoded->claims["exp"] == 1795600800 + 540);
    const std::string pem = dir.read("pub.pem");
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    REQUIRE(key != nullptr);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                    EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(decoded->signature.data()),
                                     decoded->signature.size(),
                                     reinterpret_cast<const unsigned char*>(decoded->signing_input.data()),
                                     decoded->signing_input.size()) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    CHECK(ok);
    CHECK_FALSE(github_app_jwt("not a key", "Iv23liTEST", 1795600800));
  }
}
