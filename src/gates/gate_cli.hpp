#pragma once
// `opsgate gate request ...` (specs/cicd-gates.md §4.3): a client of the
// generic gate API for any CI. Creates the gate, prints its URL and each
// state change, long-polls until it is decided, and exits 0 approved, 1
// rejected/expired/cancelled, 2 on errors. SIGINT/SIGTERM cancel the gate.

#include <functional>

namespace CLI {
class App;
}  // namespace CLI

namespace opsgate::gates {

// Adds `gate request` (its flags, help and checks) to the command line; when
// it is the command given, `run` is set to what runs it (returns the exit code).
void add_gate_commands(CLI::App& app, std::function<int()>& run);

}  // namespace opsgate::gates
