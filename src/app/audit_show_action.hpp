#pragma once
// `audit.show`: the recent audit events, optionally for one target, read from
// the same SQLite file the daemon appends to. Reads run off the I/O thread.

#include <memory>
#include <string>

#include "src/core/action.hpp"
#include "src/core/inventory.hpp"

namespace opsgate::app {

std::unique_ptr<Action> make_audit_show_action(std::string database_path, std::shared_ptr<const Inventory> inventory);

}  // namespace opsgate::app
