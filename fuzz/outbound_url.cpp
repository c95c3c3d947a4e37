// The outbound URL rule: any text as a URL, both secrecies and transports.
// A sensitive URL accepted over plain transport must have a loopback host.
#include "fuzz/fuzz_support.hpp"
#include "src/net/outbound_url.hpp"

using namespace opsgate::net;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = opsgate::fuzz::as_text(data, size);
  for (const auto transport : {UrlTransport::http, UrlTransport::websocket}) {
    const auto checked = check_outbound_url(text, UrlSecrecy::sensitive, transport);
    if (checked && !checked->encrypted && !is_loopback_host(checked->host)) {
      __builtin_trap();
    }
    (void)check_outbound_url(text, UrlSecrecy::plain, transport);
  }
  (void)is_loopback_host(text);
  return 0;
}
