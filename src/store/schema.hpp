#pragma once
// Every table in the daemon's database and how a file moves from one version
// to the next, in one place, keyed by `PRAGMA user_version`. Version 0 is a
// file made before versions were kept (or a new, empty file). Called by
// SqliteStore::open, inside one IMMEDIATE transaction.

#include "src/core/error.hpp"

namespace SQLite {
class Database;
}

namespace opsgate::store {

// The version this opsgate writes; a file with a higher one was made by a
// newer opsgate and is refused rather than misread.
inline constexpr int kSchemaVersion = 2;

// Brings `db` to kSchemaVersion (no-op when it is there). Throws
// SQLite::Exception on an I/O error; the caller rolls back.
Result<int> migrate(SQLite::Database& db, const std::string& path);

}  // namespace opsgate::store
