#include "src/net/url_encoding.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace opsgate::net {

std::string url_encode(std::string_view text) { return boost::urls::encode(text, boost::urls::unreserved_chars); }

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) {
      out += '&';
    }
    out += url_encode(name) + "=" + url_encode(value);
  }
  return out;
}

std::map<std::string, std::string> decode_form(std::string_view body) {
  std::map<std::string, std::string> fields;
  // Boost.URL 1.81's parse_query (Debian's libboost-url) runs strlen over its
  // argument: given a view that is not NUL-terminated it reads past the end
  // (ASan in the slack_inbound fuzz target). A std::string always ends in '\0'.
  const std::string terminated(body);
  const auto parsed = boost::urls::parse_query(terminated);
  if (!parsed) {
    return fields;
  }
  const boost::urls::encoding_opts form(/*space_as_plus=*/true);
  for (const auto& param : *parsed) {
    if (param.key.empty() && !param.has_value) {
      continue;  // "a=1&&b=2"
    }
    fields[param.key.decode(form)] = param.has_value ? param.value.decode(form) : std::string();
  }
  return fields;
}

}  // namespace opsgate::net
