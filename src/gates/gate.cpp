#include "src/gates/gate.hpp"
#include "src/core/rfc3339.hpp"

#include <random>

namespace opsgate::gates {

using nlohmann::json;

std::string_view to_string(GateState state) {
  switch (state) {
    case GateState::pending:
      return "pending";
    case GateState::approved:
      return "approved";
    case GateState::rejected:
      return "rejected";
    case GateState::expired:
      return "expired";
    case GateState::cancelled:
      return "cancelled";
  }
  return "pending";
}

std::optional<GateState> parse_gate_state(std::string_view text) {
  for (const auto state : {GateState::pending, GateState::approved, GateState::rejected, GateState::expired,
                           GateState::cancelled}) {
    if (to_string(state) == text) {
      return state;
    }
  }
  return std::nullopt;
}

json request_json(const GateRequest& r) {
  json j = {{"target", r.target}, {"env", r.env}, {"version", r.version}};
  auto optional = [&j](const char* key, const std::string& value) {
    if (!value.empty()) {
      j[key] = value;
    }
  };
  optional("commit", r.commit);
  optional("change_url", r.change_url);
  optional("summary", r.summary);
  optional("run_url", r.run_url);
  optional("triggered_by", r.triggered_by);
  if (r.timeout_s > 0) {
    j["timeout_s"] = r.timeout_s;
  }
  return j;
}

GateRequest request_from_json(const json& j) {
  GateRequest r;
  if (!j.is_object()) {
    return r;
  }
  auto text = [&j](const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
  };
  r.target = text("target");
  r.env = text("env");
  r.version = text("version");
  r.commit = text("commit");
  r.change_url = text("change_url");
  r.summary = text("summary");
  r.run_url = text("run_url");
  r.triggered_by = text("triggered_by");
  const auto timeout = j.find("timeout_s");
  if (timeout != j.end() && timeout->is_number_integer()) {
    r.timeout_s = timeout->get<std::int64_t>();
  }
  return r;
}

std::string iso8601(std::int64_t ms) {
  return format_rfc3339_utc(std::chrono::floor<std::chrono::seconds>(std::chrono::sys_time<std::chrono::milliseconds>{
      std::chrono::milliseconds{ms}}));
}

std::string new_gate_id(std::int64_t now_ms) {
  static constexpr char kAlphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";  // Crockford base32
  std::string id = "gt_";
  // 6 characters of seconds (sortable for 34 years at a time), then 6 random.
  std::int64_t seconds = now_ms / 1000;
  std::string time_part(6, '0');
  for (int i = 5; i >= 0; --i) {
    time_part[static_cast<std::size_t>(i)] = kAlphabet[seconds % 32];
    seconds /= 32;
  }
  id += time_part;
  thread_local std::mt19937_64 generator{std::random_device{}()};
  for (int i = 0; i < 6; ++i) {
    id += kAlphabet[generator() % 32];
  }
  return id;
}

}  // namespace opsgate::gates
