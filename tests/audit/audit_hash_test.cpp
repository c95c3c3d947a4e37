#include <doctest/doctest.h>

#include "src/audit/audit_hash.hpp"

TEST_SUITE("audit/audit_hash") {
  TEST_CASE("sha256_hex matches the FIPS 180-2 test vector in lowercase hex") {
    CHECK(opsgate::crypto::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }

  TEST_CASE("the hash covers seq, so the same event at another position hashes differently") {
    opsgate::AuditEvent event;
    event.kind = "received";
    event.seq = 1;
    const std::string first = opsgate::audit::compute_audit_hash(opsgate::audit::kGenesisHash, event);
    event.seq = 2;
    CHECK(opsgate::audit::compute_audit_hash(opsgate::audit::kGenesisHash, event) != first);
    event.hash = "ignored";
    event.prev_hash = "ignored too";
    CHECK(opsgate::audit::compute_audit_hash(opsgate::audit::kGenesisHash, event) ==
          opsgate::audit::compute_audit_hash(opsgate::audit::kGenesisHash, [&] {
            opsgate::AuditEvent copy = event;
            copy.hash.clear();
            copy.prev_hash.clear();
            return copy;
          }()));
  }
}
