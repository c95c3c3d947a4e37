#pragma once
// The generic gate API (specs/cicd-gates.md §4): POST /api/v1/gates,
// GET /api/v1/gates/{id}?wait=30s (long poll), POST /api/v1/gates/{id}/cancel,
// each with `Authorization: Bearer <client token>`; a client sees and gates
// only its own targets and environments. Errors are
// {"error":{"code","message","details"}}. Owned by the daemon beside the
// GateService; handlers run on connection strands, concurrently.

#include <memory>

#include "src/core/inventory.hpp"
#include "src/gates/gate_service.hpp"
#include "src/net/http_client.hpp"
#include "src/net/http_server.hpp"

namespace opsgate::gates {

// Registers the three routes on `server`. `service` must outlive it.
void install_gate_api(net::HttpServer& server, GateService& service, std::shared_ptr<const Inventory> inventory);

// Tells a generic client with `callback:` configured: POSTs the gate JSON,
// signed `X-Opsgate-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.
std::unique_ptr<Notifier> make_webhook_notifier(const GatesConfig& config, net::HttpClient& http);

// An error body as the API answers it.
net::HttpResponse api_error(int status, const std::string& code, const std::string& message,
                            nlohmann::json details = nlohmann::json::array());

// Classifies an HTTP answer to a callback per specs §0.3 (2xx done; 5xx, 429
// and transport errors retried, honouring Retry-After; other 4xx terminal).
DeliveryOutcome classify(const Result<net::HttpClientResponse>& answer);

}  // namespace opsgate::gates
