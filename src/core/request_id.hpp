#pragma once
// Request ids: 12 random hex characters that follow one message through every
// step, log line and audit event.

#include <string>

namespace opsgate {

std::string new_request_id();

}  // namespace opsgate
