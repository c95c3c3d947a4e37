// Leadership over a LeaderLease: it leads only while the database could not
// have given the lease to anyone else (a fake clock and a lease table that
// behaves as the PostgreSQL row does), and leader-only work stops when it
// cannot renew.
#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>

#include "src/core/leadership.hpp"

namespace {

namespace asio = boost::asio;
using opsgate::Leadership;
using opsgate::LeadershipOptions;
using std::chrono::milliseconds;
using Time = Leadership::TimePoint;

// The `leases` row as PostgreSQL keeps it: taken when free or expired (by the
// database's clock, `now`), extended by its holder, the token incremented at
// each takeover.
struct LeaseTable {
  std::string holder;
  std::int64_t token = 0;
  Time expires_at = Time::min();

  std::optional<std::int64_t> acquire(const std::string& who, Time now, milliseconds ttl) {
    if (!(expires_at < now) && holder != who) {
      return std::nullopt;
    }
    if (holder != who || expires_at < now) {
      ++token;
    }
    holder = who;
    expires_at = now + ttl;
    return token;
  }
};

LeadershipOptions options(const std::string& holder) {
  LeadershipOptions o;
  o.name = "leader";
  o.holder = holder;
  o.ttl = milliseconds(15000);
  o.safety_margin = milliseconds(5000);
  return o;
}

const Time t0 = Time(std::chrono::hours(1));

// Leader-only work that runs until it is cancelled.
asio::awaitable<void> wait_until_cancelled(asio::any_io_executor executor, bool* started, bool* stopped) {
  *started = true;
  asio::steady_timer forever(executor, asio::steady_timer::time_point::max());
  auto [ec] = co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
  *stopped = ec == asio::error::operation_aborted;
}

}  // namespace

TEST_SUITE("leadership") {
  TEST_CASE("leadership ends ttl minus the margin after the last renewal was sent, before the row expires") {
    LeaseTable table;
    Leadership a(options("a"));
    CHECK_FALSE(a.is_leader(t0));
    // Sent at t0, executed by the database 2 s later, answered at once.
    a.on_answer(t0, table.acquire("a", t0 + milliseconds(2000), a.options().ttl));
    CHECK(a.is_leader(t0 + milliseconds(2000)));
    CHECK(a.token() == 1);
    // Every renewal from now on fails: the deadline of the last success stands.
    a.on_failure(t0 + a.renew_interval(), opsgate::Error{opsgate::Errc::storage, "connection refused"});
    a.on_failure(t0 + 2 * a.renew_interval(), opsgate::Error{opsgate::Errc::storage, "connection refused"});
    CHECK(a.is_leader(t0 + milliseconds(9999)));
    CHECK_FALSE(a.is_leader(t0 + milliseconds(10000)));
    CHECK(a.valid_until() < table.expires_at);
    // Another replica gets it only once the row expired: a stopped 7 s before.
    Leadership b(options("b"));
    b.on_answer(t0 + milliseconds(16000), table.acquire("b", t0 + milliseconds(16000), b.options().ttl));
    CHECK_FALSE(b.is_leader(t0 + milliseconds(16000)));
    b.on_answer(t0 + milliseconds(17001), table.acquire("b", t0 + milliseconds(17001), b.options().ttl));
    CHECK(b.is_leader(t0 + milliseconds(17001)));
    CHECK(b.token() == 2);  // a takeover: a later fencing token
  }

  TEST_CASE("an answer that another replica holds the lease ends leadership at once") {
    Leadership a(options("a"));
    a.on_answer(t0, 7);
    CHECK(a.is_leader(t0 + milliseconds(1)));
    a.on_answer(t0 + milliseconds(5000), std::nullopt);
    CHECK_FALSE(a.is_leader(t0 + milliseconds(5001)));
    a.on_answer(t0 + milliseconds(6000), 8);
    a.step_down();
    CHECK_FALSE(a.is_leader(t0 + milliseconds(6001)));
  }

  TEST_CASE("a margin over half the ttl is refused at start-up") {
    LeadershipOptions o = options("a");
    o.safety_margin = milliseconds(9000);
    CHECK_THROWS_WITH_AS(Leadership{o}, doctest::Contains("at most half the ttl"), std::invalid_argument);
    o.holder.clear();
    o.safety_margin = milliseconds(1000);
    CHECK_FALSE(Leadership(o).options().holder.empty());
  }

  TEST_CASE("two replicas with slow, failing renewals are never both leaders, and each takeover raises the token") {
    // Discrete time in 50 ms steps over 10 minutes; each replica sends a
    // renewal every ttl/3; a renewal fails (45%: the lease often changes
    // hands) or reaches the database after 0-3 s and is answered after
    // another 0-3 s.
    struct Pending {
      Time sent;
      Time executes;
      Time answers;
      bool fails = false;
      bool executed = false;
      std::optional<std::int64_t> answer;
    };
    struct Replica {
      std::unique_ptr<Leadership> lease;
      Time next_send;
      std::optional<Pending> pending;
    };
    std::mt19937 random(21);
    std::uniform_int_distribution<int> delay_ms(0, 3000);
    std::uniform_int_distribution<int> percent(0, 99);
    LeaseTable table;
    std::vector<Replica> replicas;
    replicas.push_back(Replica{std::make_unique<Leadership>(options("a")), t0, std::nullopt});
    replicas.push_back(Replica{std::make_unique<Leadership>(options("b")), t0 + milliseconds(700), std::nullopt});
    std::int64_t last_token = 0;
    std::string last_leader;
    int takeovers = 0;
    int both = 0;
    int stale = 0;
    for (Time now = t0; now < t0 + std::chrono::minutes(10); now += milliseconds(50)) {
      for (auto& r : replicas) {
        if (!r.pending && now >= r.next_send) {
          Pending p;
          p.sent = now;
          p.executes = now + milliseconds(delay_ms(random));
          p.answers = p.executes + milliseconds(delay_ms(random));
          p.fails = percent(random) < 45;
          r.pending = p;
          r.next_send = now + r.lease->renew_interval();
        }
        if (r.pending && !r.pending->fails && !r.pending->executed && now >= r.pending->executes) {
          r.pending->answer = table.acquire(r.lease->options().holder, now, r.lease->options().ttl);
          r.pending->executed = true;
        }
        if (r.pending && now >= r.pending->answers) {
          if (r.pending->fails) {
            r.lease->on_failure(r.pending->sent, opsgate::Error{opsgate::Errc::storage, "timeout"});
          } else {
            r.lease->on_answer(r.pending->sent, r.pending->answer);
          }
          r.pending.reset();
        }
      }
      int leaders = 0;
      for (auto& r : replicas) {
        if (!r.lease->is_leader(now)) {
          continue;
        }
        ++leaders;
        // Whoever believes it leads holds the unexpired row.
        if (table.holder != r.lease->options().holder || !(now < table.expires_at)) {
          ++stale;
        }
        if (r.lease->options().holder != last_leader) {
          CHECK(r.lease->token() > last_token);
          last_token = r.lease->token();
          last_leader = r.lease->options().holder;
          ++takeovers;
        }
      }
      if (leaders > 1) {
        ++both;
      }
    }
    CHECK(both == 0);
    CHECK(stale == 0);
    CHECK(takeovers > 2);  // the run did exercise takeovers
  }

  TEST_CASE("leader-only work starts once the lease is held and is cancelled when renewals fail") {
    // A lease that answers once, then never again (the database went away).
    struct OnceLease final : opsgate::LeaderLease {
      std::atomic<int> asked{0};
      std::atomic<int> released{0};
      opsgate::Result<std::optional<std::int64_t>> acquire(const std::string&, const std::string&,
                                                           milliseconds) override {
        if (asked++ == 0) {
          return std::optional<std::int64_t>{1};
        }
        return tl::unexpected(opsgate::Error{opsgate::Errc::storage, "connection refused"});
      }
      opsgate::Result<void> release(const std::string&, const std::string&) override {
        ++released;
        return {};
      }
    } lease;
    LeadershipOptions o = options("a");
    o.ttl = milliseconds(600);
    o.safety_margin = milliseconds(300);
    Leadership leadership(o);
    asio::io_context io;
    bool started = false;
    bool stopped = false;
    std::vector<bool> changes;
    auto task = [executor = io.get_executor(), &started, &stopped] {
      return wait_until_cancelled(executor, &started, &stopped);
    };
    asio::cancellation_signal stop_lease;
    asio::cancellation_signal stop_work;
    int finished = 0;
    asio::co_spawn(io, leadership.run(lease),
                   asio::bind_cancellation_slot(stop_lease.slot(), [&finished](std::exception_ptr) { ++finished; }));
    asio::co_spawn(io, leadership.run_while_leader("test work", task, [&](bool leading) { changes.push_back(leading); }),
                   asio::bind_cancellation_slot(stop_work.slot(), [&finished](std::exception_ptr) { ++finished; }));
    for (int i = 0; i < 250 && !(started && stopped); ++i) {
      io.run_for(milliseconds(20));
    }
    CHECK(started);
    CHECK(stopped);
    CHECK_FALSE(leadership.is_leader());
    CHECK(changes == std::vector<bool>{false, true, false});
    CHECK(lease.asked >= 2);
    stop_work.emit(asio::cancellation_type::terminal);
    stop_lease.emit(asio::cancellation_type::terminal);
    for (int i = 0; i < 250 && finished < 2; ++i) {
      io.run_for(milliseconds(20));
    }
    CHECK(finished == 2);
  }
}
