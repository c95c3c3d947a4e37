#pragma once
// Every table of the daemon's PostgreSQL database and how it moves from one
// version to the next, in one place (the PostgreSQL twin of schema.hpp):
// table schema_version holds one row per applied version. migrate() takes
// the session advisory lock kPgMigrationLock first, so replicas starting
// together apply each version once; each version commits in one transaction
// with its row. Called by PgStore::open.

#include "src/core/error.hpp"

namespace pqxx {
class connection_base;
}

namespace opsgate::store {

// The version this opsgate writes; a database with a higher one was made by
// a newer opsgate and is refused rather than misread.
inline constexpr int kPgSchemaVersion = 2;

// Brings the database behind `connection` to kPgSchemaVersion and returns the
// version it had before (0: empty). Throws pqxx exceptions on I/O errors.
Result<int> migrate_pg(pqxx::connection_base& connection, const std::string& where);

}  // namespace opsgate::store
