#pragma once
// The CI platforms' native integrations (specs/cicd-gates.md §1-§3): their
// inbound webhooks become GateAsks, their notifiers report the decision.
// Registered here, in one place.

#include <memory>
#include <vector>

#include "src/gates/gate_service.hpp"
#include "src/net/http_client.hpp"
#include "src/net/http_server.hpp"

namespace opsgate::gates {

// The notifiers of the platforms configured under gates: (github, azure, gitlab).
std::vector<std::unique_ptr<Notifier>> make_platform_notifiers(const GatesConfig& config, net::HttpClient& http,
                                                               const Clock& clock);

// Their inbound webhooks (POST /webhooks/github, ...). `service` must outlive the server.
void install_platform_webhooks(net::HttpServer& server, GateService& service, std::shared_ptr<const Inventory> inventory);

}  // namespace opsgate::gates
