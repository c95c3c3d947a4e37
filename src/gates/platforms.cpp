#include "src/gates/platforms.hpp"

#include "src/gates/azure.hpp"
#include "src/gates/github.hpp"
#include "src/gates/gitlab.hpp"

namespace opsgate::gates {

std::vector<std::unique_ptr<Notifier>> make_platform_notifiers(const GatesConfig& config, net::HttpClient& http,
                                                               const Clock& clock) {
  std::vector<std::unique_ptr<Notifier>> out;
  if (config.github) {
    out.push_back(make_github_notifier(*config.github, http, clock));
  }
  if (config.azure) {
    out.push_back(make_azure_notifier(*config.azure, http));
  }
  if (config.gitlab) {
    out.push_back(make_gitlab_notifier(*config.gitlab, http));
  }
  return out;
}

void install_platform_webhooks(net::HttpServer& server, GateService& service, std::shared_ptr<const Inventory> inventory) {
  const GatesConfig& config = service.config();
  if (config.github) {
    install_github_webhook(server, service, *config.github, inventory);
  }
  if (config.azure) {
    install_azure_webhook(server, service, *config.azure);
  }
  if (config.gitlab) {
    install_gitlab_webhook(server, service, *config.gitlab, inventory);
  }
}

}  // namespace opsgate::gates
