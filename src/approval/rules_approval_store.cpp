#include "src/approval/rules_approval_store.hpp"

#include <optional>
#include <utility>

#include "src/approval/approval_rules.hpp"

namespace opsgate::approval {

namespace asio = boost::asio;

namespace {

// A rule with its result kept aside: the transaction's Result says whether
// it committed, the rule's value is returned only then.
template <class T>
struct Kept {
  std::optional<Result<T>> result;
};

template <class T>
RulesApprovalStore::RowsWork keeping(std::shared_ptr<Kept<T>> kept, std::function<Result<T>(ApprovalRows&)> rule) {
  return [kept, rule = std::move(rule)](ApprovalRows& rows) -> Result<void> {
    kept->result = rule(rows);
    if (!*kept->result) {
      return tl::unexpected(kept->result->error());
    }
    return {};
  };
}

template <class T>
Result<T> outcome(const Result<void>& ran, Kept<T>& kept) {
  if (!ran) {
    return tl::unexpected(ran.error());
  }
  if (!kept.result) {
    return fail(Errc::internal, "an approval store rule did not run");
  }
  return std::move(*kept.result);
}

}  // namespace

// ---- synchronous ----

namespace {

template <class T, class Run>
Result<T> run_now(Run&& run, std::function<Result<T>(ApprovalRows&)> rule) {
  auto kept = std::make_shared<Kept<T>>();
  const Result<void> ran = run(keeping<T>(kept, std::move(rule)));
  return outcome(ran, *kept);
}

}  // namespace

Result<Approval> RulesApprovalStore::create_now(const ApprovalDraft& draft) {
  return run_now<Approval>([this](RowsWork w) { return write_rows_now(std::move(w), Serialise::rows); },
                           [&draft](ApprovalRows& rows) { return rules::create(rows, draft); });
}

Result<VoteOutcome> RulesApprovalStore::vote_now(const std::string& id, const Principal& voter, bool approve,
                                                 const std::string& reason, const PolicyEngine& policy,
                                                 std::chrono::system_clock::time_point now) {
  return run_now<VoteOutcome>(
      [this](RowsWork w) { return write_rows_now(std::move(w), Serialise::rows); },
      [&](ApprovalRows& rows) { return rules::vote(rows, id, voter, approve, reason, policy, now); });
}

Result<VoteOutcome> RulesApprovalStore::cancel_now(const std::string& id, const Principal& who,
                                                   const PolicyEngine& policy,
                                                   std::chrono::system_clock::time_point now) {
  return run_now<VoteOutcome>([this](RowsWork w) { return write_rows_now(std::move(w), Serialise::rows); },
                              [&](ApprovalRows& rows) { return rules::cancel(rows, id, who, policy, now); });
}

Result<std::vector<Approval>> RulesApprovalStore::pending_now(std::chrono::system_clock::time_point now) {
  return run_now<std::vector<Approval>>([this](RowsWork w) { return read_rows_now(std::move(w)); },
                                        [now](ApprovalRows& rows) { return rules::pending(rows, now); });
}

Result<void> RulesApprovalStore::finish_now(const std::string& id, bool ok) {
  return run_now<void>([this](RowsWork w) { return write_rows_now(std::move(w), Serialise::rows); },
                       [&](ApprovalRows& rows) { return rules::finish(rows, id, ok); });
}

Result<std::vector<Approval>> RulesApprovalStore::expire_now(std::chrono::system_clock::time_point now) {
  return run_now<std::vector<Approval>>([this](RowsWork w) { return write_rows_now(std::move(w), Serialise::rows); },
                                        [now](ApprovalRows& rows) { return rules::expire(rows, now); });
}

Result<Approval> RulesApprovalStore::restart_vote_now(const std::string& id, const std::string& preview_text,
                                                      const std::string& preview_fingerprint,
                                                      std::chrono::system_clock::time_point now) {
  return run_now<Approval>(
      [this](RowsWork w) { return write_rows_now(std::move(w), Serialise::rows); },
      [&](ApprovalRows& rows) { return rules::restart_vote(rows, id, preview_text, preview_fingerprint, now); });
}

asio::awaitable<Result<std::vector<Approval>>> RulesApprovalStore::take_over_orphaned() {
  auto kept = std::make_shared<Kept<std::vector<Approval>>>();
  RowsWork work =
      keeping<std::vector<Approval>>(kept, [](ApprovalRows& rows) { return rules::take_over_orphaned(rows); });
  Result<void> ran = co_await write_rows(std::move(work), Serialise::rows);
  co_return outcome(ran, *kept);
}

Result<std::vector<Approval>> RulesApprovalStore::take_over_orphaned_now() {
  return run_now<std::vector<Approval>>([this](RowsWork w) { return write_rows_now(std::move(w), Serialise::rows); },
                                        [](ApprovalRows& rows) { return rules::take_over_orphaned(rows); });
}

Result<std::vector<Approval>> RulesApprovalStore::recover_interrupted() {
  return run_now<std::vector<Approval>>([this](RowsWork w) { return write_rows_now(std::move(w), Serialise::rows); },
                                        [](ApprovalRows& rows) { return rules::recover_interrupted(rows); });
}

Result<RateVerdict> RulesApprovalStore::reserve_now(const RateReservation& reservation) {
  return run_now<RateVerdict>([this](RowsWork w) { return write_rows_now(std::move(w), Serialise::rate_limits); },
                              [&](ApprovalRows& rows) { return rules::reserve(rows, reservation); });
}

Result<void> RulesApprovalStore::release_now(const std::string& request_id) {
  return run_now<void>([this](RowsWork w) { return write_rows_now(std::move(w), Serialise::rate_limits); },
                       [&](ApprovalRows& rows) { return rules::release(rows, request_id); });
}

Result<Approval> RulesApprovalStore::get_now(const std::string& id) {
  return run_now<Approval>([this](RowsWork w) { return read_rows_now(std::move(w)); },
                           [&](ApprovalRows& rows) { return rules::get(rows, id); });
}

Result<void> RulesApprovalStore::attach_thread_now(const std::string& id, const std::string& thread) {
  return run_now<void>([this](RowsWork w) { return write_rows_now(std::move(w), Serialise::rows); },
                       [&](ApprovalRows& rows) { return rules::attach_thread(rows, id, thread); });
}

// ---- coroutines: the same work, resuming on the caller's executor; each
// rule owns copies of its arguments (the coroutine frame may move on). ----

asio::awaitable<Result<Approval>> RulesApprovalStore::create(ApprovalDraft draft) {
  auto kept = std::make_shared<Kept<Approval>>();
  // A named function, moved in: GCC 12 destroys a temporary in a co_await operand twice.
  RowsWork work = keeping<Approval>(
      kept, [draft = std::move(draft)](ApprovalRows& rows) { return rules::create(rows, draft); });
  Result<void> ran = co_await write_rows(std::move(work), Serialise::rows);
  co_return outcome(ran, *kept);
}

asio::awaitable<Result<VoteOutcome>> RulesApprovalStore::vote(std::string id, Principal voter, bool approve,
                                                              std::string reason,
                                                              std::shared_ptr<const PolicyEngine> policy,
                                                              std::chrono::system_clock::time_point now) {
  auto kept = std::make_shared<Kept<VoteOutcome>>();
  RowsWork work = keeping<VoteOutcome>(
      kept, [id = std::move(id), voter = std::move(voter), approve, reason = std::move(reason),
             policy = std::move(policy), now](ApprovalRows& rows) {
        return rules::vote(rows, id, voter, approve, reason, *policy, now);
      });
  Result<void> ran = co_await write_rows(std::move(work), Serialise::rows);
  co_return outcome(ran, *kept);
}

asio::awaitable<Result<VoteOutcome>> RulesApprovalStore::cancel(std::string id, Principal who,
                                                                std::shared_ptr<const PolicyEngine> policy,
                                                                std::chrono::system_clock::time_point now) {
  auto kept = std::make_shared<Kept<VoteOutcome>>();
  RowsWork work = keeping<VoteOutcome>(
      kept, [id = std::move(id), who = std::move(who), policy = std::move(policy), now](ApprovalRows& rows) {
        return rules::cancel(rows, id, who, *policy, now);
      });
  Result<void> ran = co_await write_rows(std::move(work), Serialise::rows);
  co_return outcome(ran, *kept);
}

asio::awaitable<Result<std::vector<Approval>>> RulesApprovalStore::pending(std::chrono::system_clock::time_point now) {
  auto kept = std::make_shared<Kept<std::vector<Approval>>>();
  RowsWork work =
      keeping<std::vector<Approval>>(kept, [now](ApprovalRows& rows) { return rules::pending(rows, now); });
  Result<void> ran = co_await read_rows(std::move(work));
  co_return outcome(ran, *kept);
}

asio::awaitable<Result<void>> RulesApprovalStore::finish(std::string id, bool ok) {
  auto kept = std::make_shared<Kept<void>>();
  RowsWork work =
      keeping<void>(kept, [id = std::move(id), ok](ApprovalRows& rows) { return rules::finish(rows, id, ok); });
  Result<void> ran = co_await write_rows(std::move(work), Serialise::rows);
  co_return outcome(ran, *kept);
}

asio::awaitable<Result<std::vector<Approval>>> RulesApprovalStore::expire_due(
    std::chrono::system_clock::time_point now) {
  auto kept = std::make_shared<Kept<std::vector<Approval>>>();
  RowsWork work =
      keeping<std::vector<Approval>>(kept, [now](ApprovalRows& rows) { return rules::expire(rows, now); });
  Result<void> ran = co_await write_rows(std::move(work), Serialise::rows);
  co_return outcome(ran, *kept);
}

asio::awaitable<Result<Approval>> RulesApprovalStore::restart_vote(std::string id, std::string preview_text,
                                                                   std::string preview_fingerprint,
                                                                   std::chrono::system_clock::time_point now) {
  auto kept = std::make_shared<Kept<Approval>>();
  RowsWork work = keeping<Approval>(
      kept, [id = std::move(id), text = std::move(preview_text), fingerprint = std::move(preview_fingerprint),
             now](ApprovalRows& rows) { return rules::restart_vote(rows, id, text, fingerprint, now); });
  Result<void> ran = co_await write_rows(std::move(work), Serialise::rows);
  co_return outcome(ran, *kept);
}

asio::awaitable<Result<Approval>> RulesApprovalStore::get(std::string id) {
  auto kept = std::make_shared<Kept<Approval>>();
  RowsWork work = keeping<Approval>(kept, [id = std::move(id)](ApprovalRows& rows) { return rules::get(rows, id); });
  Result<void> ran = co_await read_rows(std::move(work));
  co_return outcome(ran, *kept);
}

asio::awaitable<Result<void>> RulesApprovalStore::attach_thread(std::string id, std::string thread) {
  auto kept = std::make_shared<Kept<void>>();
  RowsWork work = keeping<void>(kept, [id = std::move(id), thread = std::move(thread)](ApprovalRows& rows) {
    return rules::attach_thread(rows, id, thread);
  });
  Result<void> ran = co_await write_rows(std::move(work), Serialise::rows);
  co_return outcome(ran, *kept);
}

asio::awaitable<Result<RateVerdict>> RulesApprovalStore::reserve(RateReservation reservation) {
  auto kept = std::make_shared<Kept<RateVerdict>>();
  RowsWork work = keeping<RateVerdict>(kept, [reservation = std::move(reservation)](ApprovalRows& rows) {
    return rules::reserve(rows, reservation);
  });
  Result<void> ran = co_await write_rows(std::move(work), Serialise::rate_limits);
  co_return outcome(ran, *kept);
}

asio::awaitable<Result<void>> RulesApprovalStore::release(std::string request_id) {
  auto kept = std::make_shared<Kept<void>>();
  RowsWork work = keeping<void>(
      kept, [request_id = std::move(request_id)](ApprovalRows& rows) { return rules::release(rows, request_id); });
  Result<void> ran = co_await write_rows(std::move(work), Serialise::rate_limits);
  co_return outcome(ran, *kept);
}

}  // namespace opsgate::approval
