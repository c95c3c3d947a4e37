// libcurl's multi interface on one worker thread. Callers' coroutines never
// block: send() hands a prepared transfer to the worker and suspends; the
// worker drives every transfer with curl_multi_poll and posts each result to
// the executor the caller awaits on. Retries wait in the worker (a due time),
// not in a sleeping thread, so one slow backend cannot stall the others.

#include "src/net/http_client.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <curl/curl.h>

#include "src/core/text.hpp"
#include "src/net/backoff.hpp"
#include "src/net/curl_library.hpp"
#include "src/net/http_client_support.hpp"
#include "src/net/http_types.hpp"
#include "src/net/resend_rule.hpp"

namespace opsgate::net {

namespace asio = boost::asio;

namespace {

using Signature = void(Result<HttpClientResponse>);
using Handler = asio::any_completion_handler<Signature>;
using Clock = std::chrono::steady_clock;

// Upper bound of one curl_multi_poll wait when libcurl has no timer due: new
// work and stop() wake the worker at once anyway (curl_multi_wakeup).
constexpr int kMaxPollMs = 1000;
constexpr int kMaxRetries = 10;

// One request from send() to its completion. Created on the caller's thread,
// then owned and touched only by the worker until its result is posted back.
struct Transfer {
  std::uint64_t id = 0;
  HttpClientRequest request;
  std::string display_url;  // no credentials, no query: safe in messages
  // A unique_ptr because Boost 1.81's any_completion_handler move-assignment
  // recurses into itself (stack overflow); the handler itself is never moved.
  std::unique_ptr<Handler> handler;
  asio::any_io_executor executor;  // the caller's, with outstanding work tracked while we hold it
  asio::cancellation_slot slot;    // the caller's; touched only on `executor`
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  HttpClientResponse response;
  bool too_large = false;
  int retries_done = 0;
  Clock::time_point due{};
  std::array<char, CURL_ERROR_SIZE> error_text{};

  Transfer() = default;
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer() {
    if (easy != nullptr) {
      curl().easy_cleanup(easy);
    }
    if (header_list != nullptr) {
      curl().slist_free_all(header_list);
    }
  }
};

// Runs on the caller's executor: detaches the cancellation handler, then
// resumes the caller with the result.
struct Completion {
  std::unique_ptr<Handler> handler;
  asio::cancellation_slot slot;
  Result<HttpClientResponse> result;

  void operator()() {
    if (slot.is_connected()) {
      slot.clear();
    }
    (*handler)(std::move(result));
  }
};

void post_completion(std::unique_ptr<Handler> handler, asio::any_io_executor executor, asio::cancellation_slot slot,
                     Result<HttpClientResponse> result) {
  asio::post(executor, Completion{std::move(handler), slot, std::move(result)});
}

// libcurl callbacks are C: nothing may throw through them.
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  try {
    const std::string_view line(data, bytes);
    if (line.rfind("HTTP/", 0) == 0) {
      // A new status line (after 100 Continue or a proxy's CONNECT answer):
      // only the final response's headers count.
      transfer->response.headers.clear();
      return bytes;
    }
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      transfer->response.headers.emplace_back(text::trim(line.substr(0, colon)), text::trim(line.substr(colon + 1)));
    }
  } catch (const std::exception&) {
    return 0;
  }
  return bytes;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  if (transfer->response.body.size() + bytes > transfer->request.max_response_bytes) {
    transfer->too_large = true;
    return 0;  // not `bytes`: libcurl aborts the transfer with CURLE_WRITE_ERROR
  }
  try {
    transfer->response.body.append(data, bytes);
  } catch (const std::exception&) {
    return 0;
  }
  return bytes;
}

bool valid_method(const std::string& method) {
  return !method.empty() && method.size() <= 16 &&
         std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool has_header(const HttpClientRequest& request, std::string_view name) {
  return std::any_of(request.headers.begin(), request.headers.end(),
                     [name](const auto& header) { return iequals_ascii(header.first, name); });
}

// Sets up the easy handle. The transfer must not move afterwards: libcurl keeps
// pointers to it (callbacks' user data, the body, the error buffer).
Result<void> configure(Transfer& t, const HttpClientOptions& options) {
  const HttpClientRequest& r = t.request;
  if (!valid_method(r.method)) {
    return fail(Errc::invalid_input, "invalid HTTP method '" + r.method.substr(0, 16) + "'");
  }
  if (r.timeout.count() <= 0 || r.connect_timeout.count() <= 0) {
    return fail(Errc::invalid_input, "the timeouts of a request to " + t.display_url + " must be positive");
  }
  for (const auto& [name, value] : r.headers) {
    if (auto problem = detail::header_problem(name, value)) {
      return fail(Errc::invalid_input, "cannot send to " + t.display_url + ": " + *problem);
    }
  }
  for (const auto& [name, value] : r.headers) {
    const std::string line = value.empty() ? name + ";" : name + ": " + value;  // "X;" sends an empty header
    curl_slist* grown = curl().slist_append(t.header_list, line.c_str());
    if (grown == nullptr) {
      return fail(Errc::internal, "out of memory building request headers");
    }
    t.header_list = grown;
  }
  if (!has_header(r, "Expect")) {
    // Without this libcurl waits up to a second for "100 Continue" before a large body.
    curl_slist* grown = curl().slist_append(t.header_list, "Expect:");
    if (grown == nullptr) {
      return fail(Errc::internal, "out of memory building request headers");
    }
    t.header_list = grown;
  }

  t.easy = curl().easy_init();
  if (t.easy == nullptr) {
    return fail(Errc::internal, "curl_easy_init failed");
  }
  CURL* e = t.easy;
  const auto timeout_ms = static_cast<long>(r.timeout.count());
  const auto connect_ms = static_cast<long>(std::min(r.connect_timeout, r.timeout).count());
  CURLcode rc = CURLE_OK;
  auto set = [&rc](CURLcode result) {
    if (rc == CURLE_OK) {
      rc = result;
    }
  };
  set(curl().easy_setopt(e, CURLOPT_URL, r.url.c_str()));
  // Signals cannot interrupt DNS lookups in a multi-threaded daemon; the
  // threaded resolver keeps timeouts working without them.
  set(curl().easy_setopt(e, CURLOPT_NOSIGNAL, 1L));
  set(curl().easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https"));
  set(curl().easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms));
  set(curl().easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms));
  set(curl().easy_setopt(e, CURLOPT_SSL_VERIFYPEER, r.verify_tls ? 1L : 0L));
  set(curl().easy_setopt(e, CURLOPT_SSL_VERIFYHOST, r.verify_tls ? 2L : 0L));
  if (!r.ca_file.empty()) {
    set(curl().easy_setopt(e, CURLOPT_CAINFO, r.ca_file.c_str()));
  }
  if (r.client_cert_file.empty() != r.client_key_file.empty()) {
    return fail(Errc::invalid_input, "a client certificate for " + t.display_url + " needs both its cert and key file");
  }
  if (!r.client_cert_file.empty()) {
    set(curl().easy_setopt(e, CURLOPT_SSLCERT, r.client_cert_file.c_str()));
    set(curl().easy_setopt(e, CURLOPT_SSLKEY, r.client_key_file.c_str()));
  }
  set(curl().easy_setopt(e, CURLOPT_USERAGENT, options.user_agent.c_str()));
  set(curl().easy_setopt(e, CURLOPT_HTTPHEADER, t.header_list));
  set(curl().easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""));  // whatever libcurl can decode
  set(curl().easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(r.max_response_bytes)));
  set(curl().easy_setopt(e, CURLOPT_HEADERFUNCTION, &on_header));
  set(curl().easy_setopt(e, CURLOPT_HEADERDATA, &t));
  set(curl().easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body));
  set(curl().easy_setopt(e, CURLOPT_WRITEDATA, &t));
  set(curl().easy_setopt(e, CURLOPT_ERRORBUFFER, t.error_text.data()));
  if (r.method == "GET") {
    set(curl().easy_setopt(e, CURLOPT_HTTPGET, 1L));
  } else if (r.method == "HEAD") {
    set(curl().easy_setopt(e, CURLOPT_NOBODY, 1L));
  } else {
    if (r.method != "POST") {
      set(curl().easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str()));
    }
    if (r.method == "POST" || !r.body.empty()) {
      set(curl().easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size())));
      set(curl().easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data()));
    }
  }
  if (rc != CURLE_OK) {
    return fail(Errc::invalid_input, "cannot set up the request to " + t.display_url + ": " + curl().easy_strerror(rc));
  }
  return {};
}

// What went wrong, and whether a retry could help.
struct Failure {
  Error error;
  bool retry_may_help = false;
};

// Whether any of the request may have left: bytes of it were sent, or the
// transfer got past connecting (a reused connection reports no connect time).
bool may_have_been_sent(const Transfer& t) {
  long request_bytes = 0;
  curl().easy_getinfo(t.easy, CURLINFO_REQUEST_SIZE, &request_bytes);
  curl_off_t pretransfer_us = 0;
  curl().easy_getinfo(t.easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
  return request_bytes > 0 || pretransfer_us > 0;
}

Failure describe_failure(const Transfer& t, CURLcode code) {
  const std::string& url = t.display_url;
  const std::string detail = t.error_text[0] != '\0' ? std::string(t.error_text.data()) : curl().easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: {
      if (!may_have_been_sent(t)) {
        const auto limit = std::min(t.request.connect_timeout, t.request.timeout);
        // Never connected, so never sent: unavailable, like a refusal (see resend_rule.hpp).
        return {{Errc::unavailable, "cannot connect to " + url + ": no answer within " + detail::format_timeout(limit)},
                false};
      }
      return {{Errc::timeout, url + " did not answer within " + detail::format_timeout(t.request.timeout)}, false};
    }
    case CURLE_COULDNT_CONNECT: {
      long os_error = 0;
      curl().easy_getinfo(t.easy, CURLINFO_OS_ERRNO, &os_error);
      const std::string why = os_error != 0 ? std::strerror(static_cast<int>(os_error)) : detail;
      return {{Errc::unavailable, "cannot connect to " + url + ": " + why}, true};
    }
    case CURLE_COULDNT_RESOLVE_HOST:
      return {{Errc::unavailable, "cannot connect to " + url + ": the host name does not resolve (" + detail + ")"},
              true};
    case CURLE_COULDNT_RESOLVE_PROXY:
      return {{Errc::unavailable, "cannot connect to " + url + " through the proxy: " + detail}, true};
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_USE_SSL_FAILED:
      // Certificates do not fix themselves between retries.
      return {{Errc::unavailable, "TLS with " + url + " failed: " + detail}, false};
    case CURLE_FILESIZE_EXCEEDED:
      return {{Errc::upstream, "response larger than " + std::to_string(t.request.max_response_bytes) + " bytes from " +
                                   url},
              false};
    case CURLE_WRITE_ERROR:
      if (t.too_large) {
        return {{Errc::upstream, "response larger than " + std::to_string(t.request.max_response_bytes) +
                                     " bytes from " + url},
                false};
      }
      return {{Errc::internal, "cannot store the response from " + url + ": " + detail}, false};
    // The request (or part of it) went out and no answer came: the server may
    // have acted on it. Errc::timeout says so (see resend_rule.hpp).
    case CURLE_GOT_NOTHING:
      return {{Errc::timeout, url + " closed the connection without answering"}, true};
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      return {{Errc::timeout, "the connection to " + url + " failed before it answered: " + detail}, true};
    case CURLE_PARTIAL_FILE:
      return {{Errc::upstream, url + " ended its response early: " + detail}, true};
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_RANGE_ERROR:
      return {{Errc::upstream, "malformed response from " + url + ": " + detail}, false};
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return {{Errc::invalid_input, "cannot request " + url + ": " + detail}, false};
    default: {
      // Unknown failures after the request could have gone out count as sent.
      const Errc errc = may_have_been_sent(t) ? Errc::timeout : Errc::unavailable;
      return {{errc, "the request to " + url + " failed: " + detail}, false};
    }
  }
}

// Tells the worker that the caller gave up (e.g. `send(...) || timer`).
struct CancelRequest {
  std::weak_ptr<HttpClientImpl> impl;
  std::uint64_t id = 0;
  void operator()(asio::cancellation_type type) const;
};

}  // namespace

// The worker and its queues. Shared with cancellation handlers (weak) so a late
// cancellation after destruction finds nothing instead of freed memory.
// submit()/cancel() from any thread; everything named worker_* only on the worker.
class HttpClientImpl : public std::enable_shared_from_this<HttpClientImpl> {
 public:
  // Nothing is loaded or started here: libcurl, the multi handle and the
  // worker thread come with the first request (start()).
  explicit HttpClientImpl(HttpClientOptions options) : options_(std::move(options)) {}

  ~HttpClientImpl() {
    stop();
    if (CURLM* handle = multi_.load(std::memory_order_acquire); handle != nullptr) {
      curl().multi_cleanup(handle);
    }
  }

  HttpClientImpl(const HttpClientImpl&) = delete;
  HttpClientImpl& operator=(const HttpClientImpl&) = delete;

  // Stops the worker; everything pending completes with Errc::unavailable. Idempotent.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake();
    if (worker_.joinable()) {
      worker_.join();
    }
  }

  template <class CompletionHandler>
  void submit(CompletionHandler&& completion, HttpClientRequest request) {
    auto transfer = std::make_unique<Transfer>();
    transfer->slot = asio::get_associated_cancellation_slot(completion);
    transfer->executor =
        asio::prefer(asio::get_associated_executor(completion), asio::execution::outstanding_work.tracked);
    transfer->handler = std::make_unique<Handler>(std::forward<CompletionHandler>(completion));
    transfer->id = next_id_.fetch_add(1) + 1;
    transfer->request = std::move(request);
    transfer->request.max_retries = std::clamp(transfer->request.max_retries, 0, kMaxRetries);

    auto shown = detail::display_url(transfer->request.url);
    if (!shown) {
      finish_early(std::move(transfer), tl::unexpected(shown.error()));
      return;
    }
    transfer->display_url = *shown;
    if (auto started = start(); !started) {
      finish_early(std::move(transfer), tl::unexpected(started.error()));
      return;
    }
    if (auto configured = configure(*transfer, options_); !configured) {
      finish_early(std::move(transfer), tl::unexpected(configured.error()));
      return;
    }
    // Installed on the caller's thread, before the worker can complete the
    // transfer: cancellation is emitted on this thread too, and the
    // completion (which clears the slot) runs on the caller's executor.
    asio::cancellation_slot slot = transfer->slot;
    if (slot.is_connected()) {
      slot.emplace<CancelRequest>(CancelRequest{weak_from_this(), transfer->id});
    }
    std::optional<Error> refused;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        refused = Error{Errc::unavailable, "the HTTP client is shutting down"};
      } else if (in_flight_ >= options_.max_in_flight) {
        // A burst waits its turn (it has not left, so nothing is sent twice);
        // only beyond the held queue's bound is it refused, so memory stays bounded.
        if (held_.size() < options_.max_held) {
          held_.push_back(std::move(transfer));
          return;
        }
        refused = Error{Errc::unavailable, "too many outbound HTTP requests in flight (" +
                                               std::to_string(options_.max_in_flight) + ") and waiting (" +
                                               std::to_string(options_.max_held) + "); try again shortly"};
      } else {
        ++in_flight_;
        incoming_.push_back(std::move(transfer));
      }
    }
    if (refused) {
      finish_early(std::move(transfer), tl::unexpected(*refused));
      return;
    }
    wake();
  }

  void cancel(std::uint64_t id) {
    std::unique_ptr<Transfer> held;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        return;
      }
      const auto found = std::find_if(held_.begin(), held_.end(), [id](const auto& t) { return t->id == id; });
      if (found != held_.end()) {
        held = std::move(*found);
        held_.erase(found);
      } else {
        cancelled_.push_back(id);
      }
    }
    if (held) {
      auto result = fail(Errc::unavailable, "the request to " + held->display_url + " was cancelled");
      finish_early(std::move(held), std::move(result));
      return;
    }
    wake();
  }

 private:
  // Loads libcurl (once per process), makes the multi handle and starts the
  // worker, on the first request; a missing libcurl fails that request (and
  // each later one) with the loader's message instead of failing start-up.
  Result<void> start() {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      return fail(Errc::unavailable, "the HTTP client is shutting down");
    }
    if (multi_.load(std::memory_order_relaxed) != nullptr) {
      return {};
    }
    auto api = load_curl(options_.curl_library.empty() ? kCurlLibrary : std::string_view(options_.curl_library));
    if (!api) {
      return tl::unexpected(api.error());
    }
    CURLM* handle = (*api)->multi_init();
    if (handle == nullptr) {
      return fail(Errc::internal, "curl_multi_init failed (out of memory?)");
    }
    multi_.store(handle, std::memory_order_release);
    worker_ = std::thread([this] { run(); });
    return {};
  }

  // The worker's handle: the worker starts after start() has set it.
  CURLM* multi() const { return multi_.load(std::memory_order_relaxed); }

  // Wakes the worker's curl_multi_poll; nothing to wake before the first request.
  void wake() {
    if (CURLM* handle = multi_.load(std::memory_order_acquire); handle != nullptr) {
      curl().multi_wakeup(handle);
    }
  }

  // Completes a transfer that never reached the worker; still asynchronous
  // (posted), as an initiating function must never complete inline.
  static void finish_early(std::unique_ptr<Transfer> t, Result<HttpClientResponse> result) {
    post_completion(std::move(t->handler), std::move(t->executor), t->slot, std::move(result));
  }

  void complete(std::unique_ptr<Transfer> t, Result<HttpClientResponse> result) {
    bool admitted = false;
    {
      std::lock_guard lock(mutex_);
      --in_flight_;
      // The freed slot goes to the oldest held request (picked up by this
      // worker's next pass); not while stopping, when held ones are failed.
      if (!stopping_ && !held_.empty()) {
        ++in_flight_;
        incoming_.push_back(std::move(held_.front()));
        held_.pop_front();
        admitted = true;
      }
    }
    if (admitted) {
      wake();
    }
    post_completion(std::move(t->handler), std::move(t->executor), t->slot, std::move(result));
  }

  void run() {
    std::mt19937_64 random(std::random_device{}());
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (;;) {
      std::deque<std::unique_ptr<Transfer>> incoming;
      std::vector<std::uint64_t> cancelled;
      bool stopping = false;
      {
        std::lock_guard lock(mutex_);
        incoming.swap(incoming_);
        cancelled.swap(cancelled_);
        stopping = stopping_;
      }
      if (stopping) {
        worker_shutdown(std::move(incoming));
        return;
      }
      for (auto& transfer : incoming) {
        worker_start(std::move(transfer));
      }
      for (const std::uint64_t id : cancelled) {
        worker_cancel(id);
      }
      worker_start_due_retries();

      int running = 0;
      curl().multi_perform(multi(), &running);
      int left = 0;
      while (CURLMsg* message = curl().multi_info_read(multi(), &left)) {
        if (message->msg == CURLMSG_DONE) {
          worker_finish(message->easy_handle, message->data.result, unit(random));
        }
      }

      long wait_ms = -1;
      curl().multi_timeout(multi(), &wait_ms);
      if (wait_ms < 0 || wait_ms > kMaxPollMs) {
        wait_ms = kMaxPollMs;
      }
      const auto now = Clock::now();
      for (const auto& waiting : waiting_) {
        const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(waiting->due - now).count();
        wait_ms = std::min<long>(wait_ms, std::max<long>(until, 0));
      }
      curl().multi_poll(multi(), nullptr, 0, static_cast<int>(wait_ms), nullptr);
    }
  }

  void worker_start(std::unique_ptr<Transfer> t) {
    CURL* easy = t->easy;
    const CURLMcode added = curl().multi_add_handle(multi(), easy);
    if (added != CURLM_OK) {
      auto result = fail(Errc::internal, "cannot start the request to " + t->display_url + ": " + curl().multi_strerror(added));
      complete(std::move(t), std::move(result));
      return;
    }
    active_.emplace(easy, std::move(t));
  }

  void worker_start_due_retries() {
    const auto now = Clock::now();
    auto due = std::stable_partition(waiting_.begin(), waiting_.end(), [now](const auto& t) { return t->due > now; });
    std::vector<std::unique_ptr<Transfer>> starting;
    std::move(due, waiting_.end(), std::back_inserter(starting));
    waiting_.erase(due, waiting_.end());
    for (auto& t : starting) {
      worker_start(std::move(t));
    }
  }

  void worker_cancel(std::uint64_t id) {
    for (auto it = active_.begin(); it != active_.end(); ++it) {
      if (it->second->id == id) {
        auto t = std::move(it->second);
        active_.erase(it);
        curl().multi_remove_handle(multi(), t->easy);
        auto result = fail(Errc::unavailable, "the request to " + t->display_url + " was cancelled");
        complete(std::move(t), std::move(result));
        return;
      }
    }
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
      if ((*it)->id == id) {
        auto t = std::move(*it);
        waiting_.erase(it);
        auto result = fail(Errc::unavailable, "the request to " + t->display_url + " was cancelled");
        complete(std::move(t), std::move(result));
        return;
      }
    }
    // Not found: it completed before the cancellation arrived.
  }

  void worker_finish(CURL* easy, CURLcode code, double unit_random) {
    auto found = active_.find(easy);
    if (found == active_.end()) {
      curl().multi_remove_handle(multi(), easy);
      return;
    }
    std::unique_ptr<Transfer> t = std::move(found->second);
    active_.erase(found);
    curl().multi_remove_handle(multi(), easy);

    const bool retries_left = t->retries_done < t->request.max_retries;
    const Idempotent idempotent = t->request.idempotent.value_or(
        detail::retryable_method(t->request.method) ? Idempotent::yes : Idempotent::no);
    if (code == CURLE_OK) {
      long status = 0;
      curl().easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      t->response.status = static_cast<int>(status);
      if (retries_left && status == 429) {
        // Not processed: safe to send again whatever the method, after the
        // server's Retry-After (a longer one than the caller will wait is its answer).
        const auto asked = retry_after(t->response).value_or(std::chrono::milliseconds(0));
        if (asked <= t->request.max_retry_after) {
          worker_retry(std::move(t), unit_random, asked);
          return;
        }
      } else if (retries_left && detail::retry_status(t->request.retry_status, idempotent, static_cast<int>(status))) {
        worker_retry(std::move(t), unit_random, std::chrono::milliseconds(0));
        return;
      }
      HttpClientResponse response = std::move(t->response);
      complete(std::move(t), std::move(response));
      return;
    }
    Failure failure = describe_failure(*t, code);
    // resend_rule.hpp: a request that may have been processed goes again only when idempotent.
    const bool safe = idempotent == Idempotent::yes || may_resend(failure.error, Idempotent::no);
    if (failure.retry_may_help && safe && retries_left) {
      worker_retry(std::move(t), unit_random, std::chrono::milliseconds(0));
      return;
    }
    complete(std::move(t), tl::unexpected(std::move(failure.error)));
  }

  void worker_retry(std::unique_ptr<Transfer> t, double unit_random, std::chrono::milliseconds at_least) {
    const Backoff backoff({t->request.retry_base, t->request.retry_cap});
    t->due = Clock::now() + std::max(backoff.delay(t->retries_done, unit_random), at_least);
    ++t->retries_done;
    t->response = HttpClientResponse{};
    t->too_large = false;
    t->error_text[0] = '\0';
    waiting_.push_back(std::move(t));
  }

  void worker_shutdown(std::deque<std::unique_ptr<Transfer>> incoming) {
    const auto shutting_down = [](const Transfer& t) {
      return fail(Errc::unavailable, "the HTTP client shut down before " + t.display_url + " answered");
    };
    std::deque<std::unique_ptr<Transfer>> held;
    {
      std::lock_guard lock(mutex_);
      held.swap(held_);
      // Admitted by a completion between the stop and this swap.
      for (auto& t : incoming_) {
        incoming.push_back(std::move(t));
      }
      incoming_.clear();
    }
    for (auto& t : held) {
      auto result = shutting_down(*t);
      finish_early(std::move(t), std::move(result));
    }
    for (auto& [easy, t] : active_) {
      curl().multi_remove_handle(multi(), easy);
      auto result = shutting_down(*t);
      complete(std::move(t), std::move(result));
    }
    active_.clear();
    for (auto& t : waiting_) {
      auto result = shutting_down(*t);
      complete(std::move(t), std::move(result));
    }
    waiting_.clear();
    for (auto& t : incoming) {
      auto result = shutting_down(*t);
      complete(std::move(t), std::move(result));
    }
  }

  const HttpClientOptions options_;
  std::atomic<CURLM*> multi_{nullptr};  // set once by start(), under mutex_
  std::atomic<std::uint64_t> next_id_{0};

  std::mutex mutex_;  // guards the five below
  std::deque<std::unique_ptr<Transfer>> incoming_;
  std::vector<std::uint64_t> cancelled_;
  bool stopping_ = false;
  std::size_t in_flight_ = 0;  // queued, running or waiting to retry
  std::deque<std::unique_ptr<Transfer>> held_;  // beyond max_in_flight: admitted as slots free

  // Worker thread only.
  std::map<CURL*, std::unique_ptr<Transfer>> active_;
  std::vector<std::unique_ptr<Transfer>> waiting_;  // retries, by due time
  std::thread worker_;
};

namespace {

void CancelRequest::operator()(asio::cancellation_type type) const {
  if ((type & (asio::cancellation_type::terminal | asio::cancellation_type::partial |
               asio::cancellation_type::total)) == asio::cancellation_type::none) {
    return;
  }
  if (auto alive = impl.lock()) {
    alive->cancel(id);
  }
}

// The initiating function object of async_initiate: hands the completion
// handler and the request to the worker.
struct SendInitiation {
  std::shared_ptr<HttpClientImpl> impl;

  template <class CompletionHandler>
  void operator()(CompletionHandler&& completion, HttpClientRequest request) const {
    impl->submit(std::forward<CompletionHandler>(completion), std::move(request));
  }
};

}  // namespace

std::optional<std::string_view> HttpClientResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals_ascii(key, name)) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

HttpClient::HttpClient(HttpClientOptions options) : impl_(std::make_shared<HttpClientImpl>(std::move(options))) {}

HttpClient::~HttpClient() { impl_->stop(); }

asio::awaitable<Result<HttpClientResponse>> HttpClient::send(HttpClientRequest request) {
  // Named locals only as arguments of the awaited call: GCC 12 miscompiles
  // temporaries there.
  SendInitiation initiation{impl_};
  const auto& token = asio::use_awaitable;
  auto result = co_await asio::async_initiate<decltype(token), Signature>(initiation, token, std::move(request));
  co_return result;
}

}  // namespace opsgate::net
