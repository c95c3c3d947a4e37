#include "src/core/log_exception.hpp"

#include <spdlog/spdlog.h>

namespace opsgate {

std::string exception_message(std::exception_ptr error) {
  if (!error) {
    return {};
  }
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "a non-standard exception";
  }
}

void log_exception(std::string_view what, std::exception_ptr error) {
  if (!error) {
    return;
  }
  spdlog::error("{} ended with an exception: {}", what, exception_message(error));
}

}  // namespace opsgate
