#pragma once
// The terminal as a chat platform: one message per line from stdin, replies on
// stdout. A REPL on a TTY; scriptable with a pipe (exits at end of input).

#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "src/core/adapter.hpp"
#include "src/core/config_node.hpp"

namespace opsgate::adapters::shell {

struct ShellConfig {
  bool enabled = false;
  // `:as NAME` switches identity. Only for demos: it lets one terminal play
  // requester and approver.
  bool allow_impersonation = false;
  // The starting identity; only with allow_impersonation (else: the OS user).
  std::string user;
  // The greeting on a terminal; {user} is replaced by the identity. Empty: a
  // generic one. The demo's names who is who (the adapter does not know).
  std::string banner;
};

// `node` is `adapters.shell`.
ShellConfig parse_shell_config(const ConfigNode& node);

// The OS account running opsgate (the passwd entry of the effective uid;
// never $USER, which anyone can set), or "unknown".
std::string os_user_name();

// Reads from `input_fd` (duplicated; the caller keeps its own) and writes to `output_fd`.
std::unique_ptr<Adapter> make_shell_adapter(ShellConfig config, boost::asio::any_io_executor executor,
                                            int input_fd, int output_fd);

}  // namespace opsgate::adapters::shell
