#include "src/net/http_types.hpp"

#include <nlohmann/json.hpp>

#include "src/core/text.hpp"
namespace opsgate::net {

bool iequals_ascii(std::string_view a, std::string_view b) { return text::iequals(a, b); }

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals_ascii(key, name)) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

std::string_view HttpRequest::header_or_empty(std::string_view name) const {
  return header(name).value_or(std::string_view());
}

HttpResponse HttpResponse::json(int status, const nlohmann::json& body) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

HttpResponse HttpResponse::text(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

}  // namespace opsgate::net
