#pragma once
// Glob matching for action names and subjects: `*` matches any run of
// characters (including none), everything else matches itself.

#include <string_view>

namespace opsgate::policies {

bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace opsgate::policies
