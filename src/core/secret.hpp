#pragma once
// A credential read from the environment or a file. It cannot be streamed or
// formatted by accident: reveal() is the one way to the text.

#include <string>

namespace opsgate {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value, std::string source) : value_(std::move(value)), source_(std::move(source)) {}
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  // Where it came from ("env:SLACK_BOT_TOKEN", "file:/run/secrets/x"), safe to print.
  const std::string& source() const { return source_; }

 private:
  std::string value_;
  std::string source_;
};

}  // namespace opsgate
