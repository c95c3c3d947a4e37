#pragma once
// Triage's deploy history from opsgate's own audit log: the write actions
// (rollout.deploy, rollout.undo, restart, scale) that finished successfully
// for a target in an environment. Reads run off the I/O thread.

#include <memory>
#include <string>

#include "actions/triage/triage_action.hpp"
#include "src/audit/audit_reader.hpp"

namespace opsgate::app {

std::shared_ptr<actions::triage::DeployHistory> make_audit_deploy_history(audit::AuditSource database);

}  // namespace opsgate::app
