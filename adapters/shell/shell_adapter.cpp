#include "adapters/shell/shell_adapter.hpp"
#include "src/core/log_exception.hpp"

#include <pwd.h>
#include <unistd.h>

#include <charconv>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <regex>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace opsgate::adapters::shell {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kMaxLine = 16 * 1024;
// Piped messages handled at once: the next line is read while earlier ones
// wait for their audit commit, up to this many.
constexpr std::size_t kMaxInFlight = 256;
const std::regex kUserRe("^[A-Za-z0-9._-]{1,64}$");

void write_all(int fd, std::string_view text) {
  // The terminal is local and fast; a short blocking write is simpler than a
  // second async writer and keeps replies in order.
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n <= 0) {
      if (n < 0 && errno == EINTR) {
        continue;
      }
      return;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

// One piped message being handled: its replies are held back until every
// earlier message has been answered, so they come out in input order.
struct InFlight {
  std::uint64_t number = 0;  // ChatEvent::message_id
  std::string output;
  bool handed_off = false;  // the next message may be handled
  bool done = false;
};

// Runs on the daemon's one I/O thread; the in-flight state is not locked.
class ShellAdapter final : public Adapter {
 public:
  ShellAdapter(ShellConfig config, asio::any_io_executor executor, int input_fd, int output_fd)
      : config_(std::move(config)),
        input_(executor),
        wake_(executor),
        output_fd_(output_fd),
        interactive_(::isatty(input_fd) == 1) {
    user_ = config_.user.empty() ? os_user_name() : config_.user;
    boost::system::error_code ec;
    input_.assign(::dup(input_fd), ec);
    if (ec) {
      spdlog::error("shell: cannot read standard input: {}", ec.message());
    }
  }

  std::string_view platform() const override { return "shell"; }

  asio::awaitable<void> run(EventSink& sink) override {
    if (interactive_) {
      write_all(output_fd_, banner() + "\n");
    }
    asio::streambuf buffer(kMaxLine);
    std::uint64_t message_number = 0;
    for (;;) {
      prompt();
      auto [ec, n] = co_await asio::async_read_until(input_, buffer, '\n', asio::as_tuple(asio::use_awaitable));
      std::string line;
      if (ec == asio::error::not_found) {
        // Longer than kMaxLine: refuse it whole rather than act on part of it.
        buffer.consume(buffer.size());
        emit({}, "That line is longer than 16 KiB; I ignored it.\n");
        continue;
      }
      if (ec && buffer.size() == 0) {
        break;  // end of input (or the descriptor was closed at shutdown)
      }
      const std::size_t take = ec ? buffer.size() : n;
      line.assign(asio::buffers_begin(buffer.data()), asio::buffers_begin(buffer.data()) + static_cast<std::ptrdiff_t>(take));
      buffer.consume(take);
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
        line.pop_back();
      }
      const bool last = static_cast<bool>(ec);
      if (!line.empty()) {
        if (line.front() == ':') {
          // Local commands act between messages: earlier ones finish first.
          auto nothing_in_flight = [this] { return in_flight_.empty(); };
          const bool drained = co_await wait_until(nothing_in_flight);
          if (!drained || !handle_local_command(line)) {
            break;
          }
        } else {
          ChatEvent event;
          event.platform = "shell";
          event.workspace = "local";
          event.channel = "terminal";
          event.thread = "terminal";
          event.message_id = std::to_string(++message_number);
          event.principal.id = "shell:" + user_;
          event.principal.display_name = user_;
          event.text = line;
          event.addressed = true;
          if (interactive_) {
            co_await sink.on_event(std::move(event));
          } else {
            const bool go_on = co_await start(sink, std::move(event));
            if (!go_on) {
              break;
            }
          }
        }
      }
      if (last) {
        break;
      }
    }
    auto nothing_in_flight = [this] { return in_flight_.empty(); };
    const bool drained = co_await wait_until(nothing_in_flight);
    (void)drained;  // cancelled: shutting down anyway
    if (interactive_) {
      write_all(output_fd_, "\n");
    }
  }

  asio::awaitable<void> send(OutboundMessage message) override {
    // The line is built in one string (every piped reply passes here; the
    // copies and `+` temporaries cost three allocations a reply).
    std::string line;
    line.reserve(message.text.size() + 16);
    if (interactive_) {
      line += "opsgate: ";
    }
    line += message.text;
    if (!message.approval_id.empty() && message.approval_outcome.empty()) {
      line += "\n  → approve with `approve " + message.approval_id + "`, deny with `deny " + message.approval_id + " <reason>`";
    }
    for (const auto& suggestion : message.suggestions) {
      // Some actions already list their suggestions in the text (triage's
      // "Suggested next steps"): a terminal has no buttons to add, so say each once.
      if (message.text.find("`" + suggestion.command + "`") != std::string::npos) {
        continue;
      }
      line += "\n  → " + suggestion.label + ": `" + suggestion.command + "`";
    }
    line += '\n';
    emit(message.reply_to, line);
    co_return;
  }

 private:
  // Starts handling a piped message and returns once the next may be read
  // (it handed off, or finished) and fewer than kMaxInFlight are in flight.
  // False when the wait was cancelled (shutdown).
  asio::awaitable<bool> start(EventSink& sink, ChatEvent event) {
    auto slot = std::make_shared<InFlight>();
    slot->number = message_number_of(event.message_id);
    in_flight_.push_back(slot);
    const auto executor = co_await asio::this_coro::executor;
    // The pipeline's coroutine is spawned itself: a wrapper coroutine around
    // it cost every message one more frame (0.8 KB while it is in flight).
    std::function<void()> handed_off = [this, raw = slot.get()] {
      raw->handed_off = true;
      wake_.cancel();
    };
    auto handling = sink.on_event_pipelined(std::move(event), std::move(handed_off));
    asio::co_spawn(executor, std::move(handling), [this, slot](std::exception_ptr e) {
      log_exception("shell: handling message " + std::to_string(slot->number), e);
      slot->done = true;
      retire();
      wake_.cancel();
    });
    // Raw pointers in the lambdas below: GCC 12 destroys a temporary that
    // lives across a co_await twice, which would drop a shared_ptr's count
    // twice. The slot outlives both: it is retired only once it is done.
    InFlight* const current = slot.get();
    auto next_may_start = [this, current] {
      return (current->handed_off || current->done) && in_flight_.size() < kMaxInFlight;
    };
    const bool ready = co_await wait_until(next_may_start);
    co_return ready;
  }

  // Waits on wake_ until `ready()`; false if cancelled first.
  template <class Ready>
  asio::awaitable<bool> wait_until(Ready ready) {
    while (!ready()) {
      wake_.expires_at(asio::steady_timer::time_point::max());
      auto [ec] = co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
      (void)ec;  // cancelled by a wake-up, or by shutdown:
      const auto state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none) {
        co_return false;
      }
    }
    co_return true;
  }

  static std::uint64_t message_number_of(std::string_view id) {
    std::uint64_t number = 0;
    std::from_chars(id.data(), id.data() + id.size(), number);
    return number;
  }

  // Writes now if every earlier message is answered, else holds it back.
  // Piped output is gathered and written when nothing is in flight (someone
  // waiting for the reply gets it) or 16 KiB have piled up.
  void emit(std::string_view reply_to, const std::string& text) {
    if (interactive_) {
      write_all(output_fd_, text);
      return;
    }
    if (in_flight_.empty()) {
      out(text);
      flush();
      return;
    }
    InFlight* slot = in_flight_.back().get();  // replies to nothing in flight: after everything so far
    const std::uint64_t number = message_number_of(reply_to);
    const std::uint64_t first = in_flight_.front()->number;
    if (!reply_to.empty() && number >= first && number - first < in_flight_.size() &&
        in_flight_[number - first]->number == number) {
      slot = in_flight_[number - first].get();
    }
    if (slot == in_flight_.front().get()) {
      out(text);
      return;
    }
    slot->output += text;
  }

  void out(std::string_view text) {
    pending_output_ += text;
    if (pending_output_.size() >= 16 * 1024) {
      flush();
    }
  }

  void flush() {
    write_all(output_fd_, pending_output_);
    pending_output_.clear();
  }

  // Drops finished messages from the front, passing on what the next one held back.
  void retire() {
    while (!in_flight_.empty() && in_flight_.front()->done) {
      in_flight_.pop_front();
      if (!in_flight_.empty() && !in_flight_.front()->output.empty()) {
        out(in_flight_.front()->output);
        in_flight_.front()->output.clear();
      }
    }
    if (in_flight_.empty()) {
      flush();
    }
  }

  std::string banner() const {
    if (config_.banner.empty()) {
      return "opsgate shell — you are shell:" + user_ + ". Type `help`, or :as NAME to switch user" +
             (config_.allow_impersonation ? "" : " (disabled by config)") + ", :quit to leave.";
    }
    std::string text = config_.banner;
    for (auto at = text.find("{user}"); at != std::string::npos; at = text.find("{user}", at + user_.size())) {
      text.replace(at, 6, user_);
    }
    return text;
  }

  void prompt() {
    if (interactive_) {
      write_all(output_fd_, user_ + "> ");
    }
  }

  // Returns false to leave.
  bool handle_local_command(const std::string& line) {
    std::string command = line.substr(1);
    std::string argument;
    if (const auto space = command.find(' '); space != std::string::npos) {
      argument = command.substr(space + 1);
      command = command.substr(0, space);
      while (!argument.empty() && argument.back() == ' ') argument.pop_back();
      while (!argument.empty() && argument.front() == ' ') argument.erase(argument.begin());
    }
    if (command == "quit" || command == "q" || command == "exit") {
      return false;
    }
    if (command == "as") {
      if (!config_.allow_impersonation) {
        write_all(output_fd_, "`:as` is disabled: set adapters.shell.allow_impersonation: true (demos only).\n");
        return true;
      }
      if (!std::regex_match(argument, kUserRe)) {
        write_all(output_fd_, "Usage: `:as NAME` (letters, digits, '.', '_', '-').\n");
        return true;
      }
      user_ = argument;
      spdlog::info("shell: identity switched to shell:{}", user_);
      write_all(output_fd_, "You are now shell:" + user_ + ".\n");
      return true;
    }
    if (command == "who") {
      write_all(output_fd_, "You are shell:" + user_ + ".\n");
      return true;
    }
    write_all(output_fd_, "Shell commands: `:as NAME`, `:who`, `:quit`. Everything else goes to opsgate; try `help`.\n");
    return true;
  }

  ShellConfig config_;
  asio::posix::stream_descriptor input_;
  asio::steady_timer wake_;  // the reader waits on it; cancelled when a message hands off or finishes
  std::deque<std::shared_ptr<InFlight>> in_flight_;  // piped messages being handled, in input order
  std::string pending_output_;  // answered in order, not yet written (piped)
  int output_fd_;
  bool interactive_;
  std::string user_;
};

}  // namespace

std::string os_user_name() {
  // Not $USER: the identity is who runs the process, not what its environment claims.
  if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && std::regex_match(pw->pw_name, kUserRe)) {
    return pw->pw_name;
  }
  return "unknown";
}

ShellConfig parse_shell_config(const ConfigNode& node) {
  ShellConfig config;
  config.enabled = node.boolean_or("enabled", false);
  config.allow_impersonation = node.boolean_or("allow_impersonation", false);
  config.user = node.str_or("user", "");
  if (!config.user.empty() && !std::regex_match(config.user, kUserRe)) {
    node.fail("user", "expected a user name of letters, digits, '.', '_', '-'");
  }
  if (!config.user.empty() && !config.allow_impersonation) {
    node.fail("user", "a starting identity needs allow_impersonation: true (demos only); without it you are the "
                      "OS account running opsgate (" + os_user_name() + ")");
  }
  config.banner = node.str_or("banner", "");
  node.finish();
  return config;
}

std::unique_ptr<Adapter> make_shell_adapter(ShellConfig config, asio::any_io_executor executor, int input_fd,
                                            int output_fd) {
  return std::make_unique<ShellAdapter>(std::move(config), std::move(executor), input_fd, output_fd);
}

}  // namespace opsgate::adapters::shell
