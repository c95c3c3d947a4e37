#pragma once
// `audit.show`: the recent audit events, optionally for one target, read from
// the database the daemon appends to (SQLite or PostgreSQL). Reads run off the I/O thread.

#include <memory>
#include <string>

#include "src/audit/audit_reader.hpp"
#include "src/core/action.hpp"
#include "src/core/inventory.hpp"

namespace opsgate::app {

std::unique_ptr<Action> make_audit_show_action(audit::AuditSource database, std::shared_ptr<const Inventory> inventory);

}  // namespace opsgate::app
