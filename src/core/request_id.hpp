#pragma once
// Request ids: 16 hex characters that follow one message through every step,
// log line and audit event. Time-ordered: milliseconds since 1970 in the top
// 42 bits, then a per-process random start that counts up, so ids sort by
// creation and a process never repeats one.

#include <string>

namespace opsgate {

std::string new_request_id();

}  // namespace opsgate
