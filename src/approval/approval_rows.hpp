#pragma once
// The approval rules (approval_rules.hpp) written once over the few row
// operations they need; each backend (SQLite, PostgreSQL) implements these
// with its own SQL inside the transaction it runs the rule in. Only the SQL
// and the binding differ per backend. One object per transaction; the
// store's writer (or reader) thread only.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/core/approval_service.hpp"

namespace opsgate::approval {

// A state change of one approval, applied only while it is in `from`
// (empty: any state). Unset fields are left as they are.
struct Transition {
  std::string from;
  std::string to;
  std::optional<std::string> decided_by;
  std::optional<std::string> reason;
  std::optional<std::int64_t> decided_ms;
};

struct ReservationCount {
  std::int64_t count = 0;
  std::optional<std::int64_t> oldest_ms;
};

class ApprovalRows {
 public:
  virtual ~ApprovalRows() = default;

  // The approval with its approving voters (approved_by). `for_update`: the
  // row stays locked to the end of the transaction, so votes on one approval
  // from several replicas take turns (SQLite's writer lock already does).
  virtual std::optional<Approval> find(const std::string& id, bool for_update) = 0;
  // Pending approvals not yet expired at `now_ms`, oldest first.
  virtual std::vector<Approval> pending(std::int64_t now_ms) = 0;
  // Inserts a new pending approval; false when the id is taken.
  virtual bool insert(const Approval& approval) = 0;
  // Applies `change` to `id`; the number of rows changed (0 or 1).
  virtual int transition(const std::string& id, const Transition& change) = 0;
  // Every pending approval past its deadline moves to expired; each is
  // returned to exactly one caller, whatever the number of replicas.
  virtual std::vector<Approval> expire_due(std::int64_t now_ms) = 0;
  // granted -> pending with a new lifetime and preview, votes cleared; false when not granted.
  virtual bool reopen(const std::string& id, std::int64_t created_ms, std::int64_t expires_ms,
                      const std::string& preview_text, const std::string& preview_fingerprint) = 0;
  // Granted approvals whose run was interrupted (the process that granted
  // them is gone) move to failed with `reason`, and are returned.
  virtual std::vector<Approval> fail_interrupted(const std::string& reason) = 0;
  // While running: granted approvals whose runner's session is gone (no
  // session, this one included, holds their run lock) move to failed with
  // `reason`. A backend with one process per database has none.
  virtual std::vector<Approval> fail_orphaned(const std::string& /*reason*/) { return {}; }
  virtual int set_thread(const std::string& id, const std::string& thread) = 0;

  // Voters of `id` with their vote ("approve", "deny"), oldest first.
  virtual std::vector<std::pair<std::string, std::string>> votes(const std::string& id) = 0;
  // False when this voter already voted.
  virtual bool add_vote(const std::string& id, const std::string& voter, const std::string& vote,
                        const std::string& reason, std::int64_t ts_ms, const std::string& person) = 0;
  // Called when a vote granted `id`: the backend may mark it as being run by
  // this process (so that another replica's recovery leaves it alone).
  virtual void granted_here(const std::string& /*id*/) {}
  // Called when `id` finished running here.
  virtual void finished_here(const std::string& /*id*/) {}

  // Reservations after `since_ms` of another request for one of `actions`,
  // by `person` (per subject) or on one of `targets`.
  virtual ReservationCount count_reservations(std::int64_t since_ms, const std::string& request_id,
                                              const std::vector<std::string>& actions, bool per_subject,
                                              const std::string& person,
                                              const std::vector<std::string>& targets) = 0;
  // Takes the slot (again: a no-op).
  virtual void reserve(const RateReservation& reservation, std::int64_t ts_ms) = 0;
  virtual void release(const std::string& request_id) = 0;
};

}  // namespace opsgate::approval
