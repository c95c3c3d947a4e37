#pragma once
// A cheap first look at a signed Events API body: is it a channel message
// that parse_event would ignore (chatter)? Pure; used before the full parse.

#include <string_view>

namespace opsgate::adapters::slack {

// True only for an `event_callback` whose event is a `message` outside a DM
// (channel_type not "im", channel not starting with 'D'): parse_event ignores
// exactly those. Anything else, or anything unclear (invalid JSON, a repeated
// key, a value of an unexpected type), is false and takes the full path; the
// answer is never used for more than "nothing to do".
bool is_channel_chatter(std::string_view body);

}  // namespace opsgate::adapters::slack
