#include "src/app/config_check_command.hpp"

#include <iostream>

#include <boost/asio/io_context.hpp>

#include "src/app/components.hpp"
#include "src/core/duration.hpp"
#include "src/store/pg_store.hpp"

namespace opsgate::app {

int run_config_check(const Config& config) {
  boost::asio::io_context io;
  const Components components = build_components(config, io.get_executor());
  std::cout << "config ok: " << config.source << "\n";
  if (config.storage_backend == StorageBackend::postgres && config.postgres) {
    // Where, and where the DSN came from: never the DSN itself (it may hold a password).
    std::cout << "storage: PostgreSQL at " << store::pg_describe(config.postgres->dsn.reveal()) << " (dsn from "
              << config.postgres->dsn.source() << "); leader lease ttl "
              << format_duration(config.postgres->lease_ttl.count()) << ", safety margin "
              << format_duration(config.postgres->lease_safety_margin.count()) << "; storage.path is not used\n";
  } else {
    std::cout << "storage: " << config.storage_path << "\n";
  }
  std::cout << "default_env: " << config.inventory->default_env() << "\n";
  for (const auto& env : config.inventory->environments()) {
    std::cout << "environment " << env.name;
    for (const auto& s : env.synonyms) std::cout << (&s == &env.synonyms.front() ? " (" : ", ") << s;
    std::cout << (env.synonyms.empty() ? "" : ")") << "\n";
  }
  for (const auto& target : config.inventory->targets()) {
    std::cout << "target " << target.name;
    if (!target.team.empty()) std::cout << " [team " << target.team << "]";
    for (const auto& a : target.aliases) std::cout << (&a == &target.aliases.front() ? " aliases: " : ", ") << a;
    std::cout << "\n";
    for (const auto& [env, p] : target.placements) {
      std::cout << "  " << env << ": deployment " << p.namespace_name << "/" << p.deployment << ", prometheus {"
                << p.prometheus_selector << "}, loki " << p.loki_selector << "\n";
    }
  }
  for (const auto& note : components.notes) {
    std::cout << note << "\n";
  }
  for (const auto& warning : components.warnings) {
    std::cerr << "opsgate: warning: " << warning << "\n";
  }
  return 0;
}

}  // namespace opsgate::app
