#include "src/net/curl_library.hpp"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "src/core/shared_library.hpp"

namespace opsgate::net {

namespace {

// The one process-wide handle: like curl_global_init, which it wraps, it is
// set once and never changes after (a dlclose would leave OpenSSL's exit
// handlers pointing into unmapped code).
struct Loaded {
  std::mutex mutex;
  CurlApi api;
  std::atomic<bool> ready{false};  // set once, under mutex, after api
};

Loaded& loaded() {
  static Loaded instance;
  return instance;
}

template <class Fn>
bool resolve(void* handle, const char* name, Fn& out) {
  out = reinterpret_cast<Fn>(dlsym(handle, name));
  return out != nullptr;
}

}  // namespace

Result<const CurlApi*> load_curl(std::string_view library) {
  Loaded& state = loaded();
  std::lock_guard lock(state.mutex);
  const std::string name(library);
  auto opened = open_shared_library(name, "outbound HTTP", "libcurl4");
  if (!opened) {
    return tl::unexpected(opened.error());
  }
  void* handle = *opened;
  if (state.ready.load(std::memory_order_acquire)) {
    // Loaded before: the table stays; dlopen only counted one more reference.
    dlclose(handle);
    return &state.api;
  }
  CurlApi api;
  const char* missing = nullptr;
  const auto need = [&](const char* symbol, auto& slot) {
    if (missing == nullptr && !resolve(handle, symbol, slot)) {
      missing = symbol;
    }
  };
  need("curl_easy_init", api.easy_init);
  need("curl_easy_cleanup", api.easy_cleanup);
  need("curl_easy_setopt", api.easy_setopt);
  need("curl_easy_getinfo", api.easy_getinfo);
  need("curl_easy_strerror", api.easy_strerror);
  need("curl_multi_init", api.multi_init);
  need("curl_multi_cleanup", api.multi_cleanup);
  need("curl_multi_add_handle", api.multi_add_handle);
  need("curl_multi_remove_handle", api.multi_remove_handle);
  need("curl_multi_perform", api.multi_perform);
  need("curl_multi_poll", api.multi_poll);
  need("curl_multi_wakeup", api.multi_wakeup);
  need("curl_multi_timeout", api.multi_timeout);
  need("curl_multi_info_read", api.multi_info_read);
  need("curl_multi_strerror", api.multi_strerror);
  need("curl_slist_append", api.slist_append);
  need("curl_slist_free_all", api.slist_free_all);
  decltype(&curl_global_init) global_init = nullptr;
  need("curl_global_init", global_init);
  if (missing != nullptr) {
    dlclose(handle);
    return fail(Errc::unavailable, name + " has no " + missing +
                                       ": opsgate needs libcurl 7.68 or newer (Debian: apt-get install libcurl4)");
  }
  if (const CURLcode rc = global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK) {
    return fail(Errc::unavailable, "curl_global_init failed (" + std::to_string(static_cast<int>(rc)) + ") after loading " + name);
  }
  state.api = api;
  state.ready.store(true, std::memory_order_release);
  return &state.api;
}

const CurlApi& curl() {
  Loaded& state = loaded();
  if (!state.ready.load(std::memory_order_acquire)) {
    // A bug, not an input error: HttpClient loads the library before it makes a handle.
    std::abort();
  }
  return state.api;
}

}  // namespace opsgate::net
