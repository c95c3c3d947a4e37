#pragma once
// A credential read from the environment or a file. It cannot be streamed or
// formatted by accident: reveal() is the one way to the text.

#include <string>
#include <string_view>

namespace opsgate {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value, std::string source) : value_(std::move(value)), source_(std::move(source)) {}
  const std::string& reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  // Where it came from ("env:SLACK_BOT_TOKEN", "file:/run/secrets/x"), safe to print.
  const std::string& source() const { return source_; }
  // Whether `candidate` is the secret, in time that depends only on the
  // secret's length (a bearer token compared with what a client sent).
  bool matches(std::string_view candidate) const {
    unsigned char diff = candidate.size() == value_.size() ? 0 : 1;
    for (std::size_t i = 0; i < value_.size(); ++i) {
      const unsigned char x = i < candidate.size() ? static_cast<unsigned char>(candidate[i]) : 0;
      diff |= static_cast<unsigned char>(x ^ static_cast<unsigned char>(value_[i]));
    }
    return diff == 0;
  }

 private:
  std::string value_;
  std::string source_;
};

}  // namespace opsgate
