#pragma once
// Percent-encoding for URLs and HTML forms, on Boost.URL: the one place
// opsgate builds query strings and form bodies and reads form bodies.

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace opsgate::net {

// Percent-encodes everything but RFC 3986's unreserved characters (uppercase hex).
std::string url_encode(std::string_view text);

// "a=1&b=x%20y": for a query string (after '?') or a form-encoded POST body.
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& params);

// An application/x-www-form-urlencoded body ('+' is a space) as name -> value;
// a name without '=' has an empty value; a later duplicate wins. A body that
// is not valid percent-encoding (e.g. "%zz") decodes to no fields at all.
std::map<std::string, std::string> decode_form(std::string_view body);

}  // namespace opsgate::net
