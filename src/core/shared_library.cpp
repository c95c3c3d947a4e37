#include "src/core/shared_library.hpp"

#include <dlfcn.h>

#include <string>

namespace opsgate {

Result<void*> open_shared_library(std::string_view soname, std::string_view needed_for, std::string_view debian_package) {
  const std::string name(soname);
  void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return fail(Errc::unavailable, "cannot load " + name + " for " + std::string(needed_for) + " (" +
                                       (why != nullptr ? why : "unknown error") + "): install it (Debian: apt-get install " +
                                       std::string(debian_package) + ")");
  }
  return handle;
}

}  // namespace opsgate
