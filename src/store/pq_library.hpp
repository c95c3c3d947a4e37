#pragma once
// libpq (PostgreSQL's client library), loaded with dlopen when the PostgreSQL
// store is first opened instead of at start: on SQLite (the default) neither
// libpq nor its TLS, LDAP and Kerberos libraries are mapped. libpqxx is linked
// statically and calls libpq through forwarders in pq_library.cpp.
// Process-wide, loaded once; any thread may call.

#include <string_view>

#include "src/core/error.hpp"

namespace opsgate::store {

// The soname Debian's libpq-dev links against (package libpq5).
inline constexpr std::string_view kLibpq = "libpq.so.5";

// Loads `library`; the first success is the libpq every forwarder calls, later
// calls only check that `library` opens (a missing one is an error even then).
// The error names the library, dlopen's reason and the package to install.
// PgStore::open calls it before the first connection.
Result<void> load_libpq(std::string_view library = kLibpq);

}  // namespace opsgate::store
