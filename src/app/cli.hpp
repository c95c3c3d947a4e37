#pragma once
// The `opsgate` command line: serve, shell, parse, config check, audit.

namespace opsgate::app {

int run_cli(int argc, char** argv);

}  // namespace opsgate::app
