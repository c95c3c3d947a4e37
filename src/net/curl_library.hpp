#pragma once
// libcurl, loaded with dlopen on the first outbound HTTP request instead of at
// start: a process that never calls out (`opsgate shell` on the demo config,
// `audit verify`) maps neither libcurl nor its TLS, LDAP and Kerberos
// dependencies. Process-wide and loaded once; any thread may call.

#include <string>
#include <string_view>

#include <curl/curl.h>

#include "src/core/error.hpp"

namespace opsgate::net {

// The libcurl functions opsgate calls, resolved from the loaded library.
// curl_easy_setopt/getinfo stay variadic: call them as the C functions.
struct CurlApi {
  decltype(&curl_easy_init) easy_init = nullptr;
  decltype(&curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&curl_easy_setopt) easy_setopt = nullptr;
  decltype(&curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&curl_easy_strerror) easy_strerror = nullptr;
  decltype(&curl_multi_init) multi_init = nullptr;
  decltype(&curl_multi_cleanup) multi_cleanup = nullptr;
  decltype(&curl_multi_add_handle) multi_add_handle = nullptr;
  decltype(&curl_multi_remove_handle) multi_remove_handle = nullptr;
  decltype(&curl_multi_perform) multi_perform = nullptr;
  decltype(&curl_multi_poll) multi_poll = nullptr;
  decltype(&curl_multi_wakeup) multi_wakeup = nullptr;
  decltype(&curl_multi_timeout) multi_timeout = nullptr;
  decltype(&curl_multi_info_read) multi_info_read = nullptr;
  decltype(&curl_multi_strerror) multi_strerror = nullptr;
  decltype(&curl_slist_append) slist_append = nullptr;
  decltype(&curl_slist_free_all) slist_free_all = nullptr;
};

// The soname Debian's libcurl4-openssl-dev links against (package libcurl4).
inline constexpr std::string_view kCurlLibrary = "libcurl.so.4";

// Loads `library` and, the first time, resolves the table and runs
// curl_global_init; later calls return that table once `library` opens too
// (a missing one is an error even then). The error names the library, what
// dlopen said and the package to install.
Result<const CurlApi*> load_curl(std::string_view library = kCurlLibrary);

// The loaded table; only after load_curl succeeded (HttpClient guarantees it
// before it touches a handle).
const CurlApi& curl();

}  // namespace opsgate::net
