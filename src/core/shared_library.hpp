#pragma once
// Opening a shared library on first use (libcurl, libpq): dlopen by soname
// from the system library path, with an error a sysadmin can act on. Free
// function, any thread.

#include <string_view>

#include "src/core/error.hpp"

namespace opsgate {

// dlopen(soname, RTLD_NOW | RTLD_LOCAL): the library's symbols reach only
// the caller, through dlsym. The error (Errc::unavailable) names the library,
// what it is needed for, dlopen's reason and the Debian package to install.
Result<void*> open_shared_library(std::string_view soname, std::string_view needed_for, std::string_view debian_package);

}  // namespace opsgate
