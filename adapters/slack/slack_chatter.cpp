#include "adapters/slack/slack_chatter.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace opsgate::adapters::slack {

namespace {

using nlohmann::json;

enum class Key : std::uint8_t { other, type, event, channel, channel_type };

// Reads the envelope with nlohmann's SAX interface: the few fields routing
// needs, without building the document (a busy channel's messages would
// otherwise each cost a tree of maps and strings to be thrown away).
class ChatterProbe : public json::json_sax_t {
 public:
  bool null() override { return value_seen(); }
  bool boolean(bool /*value*/) override { return value_seen(); }
  bool number_integer(number_integer_t /*value*/) override { return value_seen(); }
  bool number_unsigned(number_unsigned_t /*value*/) override { return value_seen(); }
  bool number_float(number_float_t /*value*/, const string_t& /*text*/) override { return value_seen(); }
  bool binary(binary_t& /*value*/) override { return value_seen(); }

  bool string(string_t& value) override {
    if (!own_value()) {
      return true;
    }
    if (depth_ == 1 && key_ == Key::type) {
      envelope_callback_ = value == "event_callback";
    } else if (in_event() && key_ == Key::type) {
      event_message_ = value == "message";
    } else if (in_event() && key_ == Key::channel) {
      channel_direct_ = !value.empty() && value.front() == 'D';
    } else if (in_event() && key_ == Key::channel_type) {
      channel_im_ = value == "im";
    }
    return true;
  }

  bool start_object(std::size_t /*elements*/) override {
    if (own_value() && depth_ == 1 && key_ == Key::event) {
      event_depth_ = depth_ + 1;
    }
    ++depth_;
    return true;
  }
  bool end_object() override {
    if (depth_ == event_depth_) {
      event_depth_ = 0;
    }
    --depth_;
    return true;
  }
  bool start_array(std::size_t /*elements*/) override {
    ++depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }

  bool key(string_t& name) override {
    key_depth_ = depth_;
    key_ = Key::other;
    if (depth_ == 1) {
      key_ = name == "type" ? Key::type : name == "event" ? Key::event : Key::other;
    } else if (in_event()) {
      key_ = name == "type" ? Key::type : name == "channel" ? Key::channel
             : name == "channel_type" ? Key::channel_type : Key::other;
    }
    if (key_ == Key::other) {
      return true;
    }
    // A repeated key: which one counts is the full parser's business.
    const auto bit = static_cast<std::uint8_t>(1U << static_cast<unsigned>(key_));
    std::uint8_t& seen = depth_ == 1 ? top_keys_ : event_keys_;
    if ((seen & bit) != 0) {
      repeated_ = true;
      return false;
    }
    seen = static_cast<std::uint8_t>(seen | bit);
    return true;
  }

  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& /*error*/) override {
    return false;
  }

  bool chatter() const {
    return !repeated_ && envelope_callback_ && event_message_ && !channel_direct_ && !channel_im_;
  }

 private:
  bool in_event() const { return event_depth_ != 0 && depth_ == event_depth_; }
  // The value now reported is the one of the last key (not an array element).
  bool own_value() const { return key_depth_ == depth_ && key_ != Key::other; }
  // A field that matters with a value that is not a string: the full path decides.
  bool value_seen() {
    if (!own_value()) {
      return true;
    }
    if (key_ == Key::event || key_ == Key::type) {
      unclear_ = true;
    }
    return !unclear_;
  }

  std::size_t depth_ = 0;
  std::size_t key_depth_ = 0;
  std::size_t event_depth_ = 0;
  Key key_ = Key::other;
  std::uint8_t top_keys_ = 0;
  std::uint8_t event_keys_ = 0;
  bool repeated_ = false;
  bool unclear_ = false;
  bool envelope_callback_ = false;
  bool event_message_ = false;
  bool channel_direct_ = false;
  bool channel_im_ = false;
};

}  // namespace

bool is_channel_chatter(std::string_view body) {
  ChatterProbe probe;
  const bool parsed = json::sax_parse(body, &probe);
  return parsed && probe.chatter();
}

}  // namespace opsgate::adapters::slack
