#include "src/core/approval_workflow.hpp"

namespace opsgate {

bool is_vote_action(std::string_view action) { return action == "approve" || action == "deny" || action == "cancel"; }

bool is_approval_action(std::string_view action) { return is_vote_action(action) || action == "approvals.list"; }

}  // namespace opsgate
