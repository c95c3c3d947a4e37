#pragma once
// Extension point: one whitelisted action against one backend. Actions never
// check policy and never write audit records: the pipeline does both.

#include <boost/asio/awaitable.hpp>

#include "src/core/action_catalogue.hpp"
#include "src/core/action_request.hpp"
#include "src/core/action_result.hpp"
#include "src/core/error.hpp"

namespace opsgate {

class Action {
 public:
  virtual ~Action() = default;
  virtual const ActionSpec& spec() const = 0;
  // The request has been validated against spec() and the inventory.
  virtual boost::asio::awaitable<Result<ActionResult>> execute(ActionRequest request) = 0;
};

}  // namespace opsgate
