#include <doctest/doctest.h>

#include "src/core/crypto.hpp"
#include "src/core/encoding.hpp"

#include <string>

using namespace std::string_literals;
namespace enc = opsgate::encoding;
namespace crypto = opsgate::crypto;

TEST_SUITE("core/encoding") {
  TEST_CASE("hex round-trips and refuses odd or non-hex input") {
    CHECK(enc::hex_encode("\x00\x7f\xff"s) == "007fff");
    CHECK(enc::hex_decode("007FfF") == "\x00\x7f\xff"s);
    CHECK_FALSE(enc::hex_decode("abc"));
    CHECK_FALSE(enc::hex_decode("zz"));
    CHECK(enc::hex_decode("") == "");
  }

  TEST_CASE("base64 matches RFC 4648's test vectors both ways") {
    const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},     {"fo", "Zm8="},
                                                           {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                           {"foobar", "Zm9vYmFy"}};
    for (const auto& vector : vectors) {
      const char* plain = vector.first;  // not a structured binding: clang 14 cannot capture one in doctest's lambdas
      const char* encoded = vector.second;
      CAPTURE(plain);
      CHECK(enc::base64_encode(plain) == encoded);
      CHECK(enc::base64_decode(encoded) == std::string(plain));
    }
  }

  TEST_CASE("base64 refuses what is not exactly base64") {
    CHECK_FALSE(enc::base64_decode("Zm9"));        // length
    CHECK_FALSE(enc::base64_decode(" Zm9v"));      // white space OpenSSL would skip
    CHECK_FALSE(enc::base64_decode("Zm9v\n"));
    CHECK_FALSE(enc::base64_decode("Zm-v"));       // base64url alphabet
    CHECK_FALSE(enc::base64_decode("Z=9v"));       // padding in the middle
    CHECK_FALSE(enc::base64_decode("Z==="));
  }

  TEST_CASE("base64url has no padding, its own alphabet, and accepts padding on input") {
    const std::string bytes = "\xfb\xff\xbf"s;
    CHECK(enc::base64_encode(bytes) == "+/+/");
    CHECK(enc::base64url_encode(bytes) == "-_-_");
    CHECK(enc::base64url_encode("f") == "Zg");
    CHECK(enc::base64url_decode("Zg") == "f");
    CHECK(enc::base64url_decode("Zg==") == "f");
    CHECK(enc::base64url_decode("-_-_") == bytes);
    CHECK_FALSE(enc::base64url_decode("+/+/"));
    CHECK_FALSE(enc::base64url_decode("Z"));
    CHECK_FALSE(enc::base64url_decode("Zm9v!"));
  }
}

TEST_SUITE("core/crypto") {
  TEST_CASE("sha256 and hmac match published vectors") {
    CHECK(crypto::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(crypto::sha256("abc").size() == 32);
    // RFC 4231 test case 2.
    CHECK(crypto::hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    // RFC 4231 test case 6: a key longer than the block is hashed first.
    CHECK(crypto::hmac_sha256_hex(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First") ==
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    // An empty key and message (the contexts are reused: each call starts afresh).
    CHECK(crypto::hmac_sha256_hex("", "") == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    CHECK(crypto::hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(crypto::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }

  TEST_CASE("hmac with the previous call's key restarts from that key, and a new key replaces it") {
    // The per-thread context skips re-keying when the key repeats (a webhook's
    // signing secret): each message must still be hashed under the right key.
    CHECK(crypto::hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(crypto::hmac_sha256_hex("Jefe", "Hi There") ==
          "6bfb115ca30df3be0dfdffe79a51cbee88186db55acc287af148d7ff6220f92e");
    CHECK(crypto::hmac_sha256_hex("Jefe", "") == "923598ca6d64af2a5dba79dcd021a8a0fe5c5f557519adaaf0ad532d4506dd30");
    CHECK(crypto::hmac_sha256_hex(std::string(20, '\x0b'), "Hi There") ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    CHECK(crypto::hmac_sha256_hex("Jefe", "Hi There") ==
          "6bfb115ca30df3be0dfdffe79a51cbee88186db55acc287af148d7ff6220f92e");
    // A key that is a prefix of the last one is another key.
    CHECK(crypto::hmac_sha256_hex("Jef", "Hi There") != crypto::hmac_sha256_hex("Jefe", "Hi There"));
  }

  TEST_CASE("constant_time_equal compares content and length") {
    CHECK(crypto::constant_time_equal("secret", "secret"));
    CHECK_FALSE(crypto::constant_time_equal("secret", "secreT"));
    CHECK_FALSE(crypto::constant_time_equal("secret", "secret2"));
    CHECK(crypto::constant_time_equal("", ""));
  }
}
