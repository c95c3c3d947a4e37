#include "src/gates/platforms.hpp"

namespace opsgate::gates {

std::vector<std::unique_ptr<Notifier>> make_platform_notifiers(const GatesConfig& /*config*/, net::HttpClient& /*http*/) {
  return {};
}

void install_platform_webhooks(net::HttpServer& /*server*/, GateService& /*service*/) {}

}  // namespace opsgate::gates
