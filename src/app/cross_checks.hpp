#pragma once
// Requirements that span config sections, checked in one place after every
// section is built, so start-up and `opsgate config check` refuse the same
// configurations that could not work (file:line: key: what is missing):
//   - alertmanager.triage needs a `triage` action (actions.triage);
//   - alertmanager.principal must be allowed `triage` by the policy for
//     at least one target (else every triage is denied);
//   - actions.triage needs something to read: metrics (actions.prometheus),
//     alerts, logs (loki, logfile) or rollouts (kubernetes).
// And one warning (the reference config/example.yaml enables no adapter):
//   - an alertmanager channel on a platform whose adapter is not enabled.

#include <string>
#include <vector>

#include "src/app/components.hpp"
#include "src/core/config.hpp"

namespace opsgate::app {

// Throws ConfigError for the first requirement that does not hold; returns
// the warnings (file:line: key: what will not work).
std::vector<std::string> check_cross_sections(const Config& config, const Components& components);

}  // namespace opsgate::app
