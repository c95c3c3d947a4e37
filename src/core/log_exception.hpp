#pragma once
// The completion handler every co_spawn gets: log how a task ended, if it
// ended with an exception. Safe from any thread (spdlog is thread-safe).

#include <exception>
#include <string>
#include <string_view>

namespace opsgate {

// "what(): message" of the exception, or a note for a non-standard one; "" for null.
std::string exception_message(std::exception_ptr error);

// Logs "<what> ended with an exception: <message>" at error level; nothing for null.
void log_exception(std::string_view what, std::exception_ptr error);

}  // namespace opsgate
