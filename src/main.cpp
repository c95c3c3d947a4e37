#include "src/app/cli.hpp"

int main(int argc, char** argv) { return opsgate::app::run_cli(argc, argv); }
