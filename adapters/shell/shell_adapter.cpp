#include "adapters/shell/shell_adapter.hpp"

#include <pwd.h>
#include <unistd.h>

#include <regex>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace opsgate::adapters::shell {

namespace asio = boost::asio;

namespace {

constexpr std::size_t kMaxLine = 16 * 1024;
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

class ShellAdapter final : public Adapter {
 public:
  ShellAdapter(ShellConfig config, asio::any_io_executor executor, int input_fd, int output_fd)
      : config_(std::move(config)),
        input_(executor),
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
        write_all(output_fd_, "That line is longer than 16 KiB; I ignored it.\n");
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
          if (!handle_local_command(line)) {
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
          co_await sink.on_event(std::move(event));
        }
      }
      if (last) {
        break;
      }
    }
    if (interactive_) {
      write_all(output_fd_, "\n");
    }
  }

  asio::awaitable<void> send(OutboundMessage message) override {
    std::string text = message.text;
    if (!message.approval_id.empty() && message.approval_outcome.empty()) {
      text += "\n  → approve with `approve " + message.approval_id + "`, deny with `deny " + message.approval_id + " <reason>`";
    }
    for (const auto& suggestion : message.suggestions) {
      // Some actions already list their suggestions in the text (triage's
      // "Suggested next steps"): a terminal has no buttons to add, so say each once.
      if (message.text.find("`" + suggestion.command + "`") != std::string::npos) {
        continue;
      }
      text += "\n  → " + suggestion.label + ": `" + suggestion.command + "`";
    }
    write_all(output_fd_, (interactive_ ? "opsgate: " : "") + text + "\n");
    co_return;
  }

 private:
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
