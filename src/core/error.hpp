#pragma once
// Errors the outside world causes (bad input, upstream failures, timeouts)
// travel as values: Result<T> = tl::expected<T, Error>.

#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace opsgate {

enum class Errc {
  invalid_input,  // the request or a value in it is wrong; the user can fix it
  not_found,      // a named thing does not exist
  denied,         // policy or authentication refused it
  conflict,       // the state changed under us (approval already decided, ...)
  timeout,        // a backend did not answer in time
  unavailable,    // a backend could not be reached
  upstream,       // a backend answered with an error
  storage,        // the audit log or approval store failed
  internal,       // a bug in opsgate
};

std::string_view to_string(Errc code);

struct Error {
  Errc code = Errc::internal;
  std::string message;
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(Errc code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace opsgate
