#pragma once
// `opsgate gate request ...` (specs/cicd-gates.md §4.3): a client of the
// generic gate API for any CI. Creates the gate, prints its URL and each
// state change, long-polls until it is decided, and exits 0 approved, 1
// rejected/expired/cancelled, 2 on errors. SIGINT/SIGTERM cancel the gate.

namespace opsgate::gates {

// argv after "gate"; returns the exit code.
int run_gate_cli(int argc, char** argv);

}  // namespace opsgate::gates
