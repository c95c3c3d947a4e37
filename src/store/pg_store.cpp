#include "src/store/pg_store.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include <libpq-fe.h>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "src/net/backoff.hpp"
#include "src/store/pg_schema.hpp"

namespace opsgate::store {

struct PgStore::Connection {
  explicit Connection(const std::string& conninfo) : c(conninfo) {}
  pqxx::connection c;
};

namespace {

// Takes one unit from the test's failure budget, if any is left.
bool take_one(std::atomic<int>& budget) {
  int left = budget.load(std::memory_order_relaxed);
  while (left > 0 && !budget.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) {
  }
  return left > 0;
}

bool is_uri(const std::string& dsn) { return dsn.rfind("postgresql://", 0) == 0 || dsn.rfind("postgres://", 0) == 0; }

// A deadlock between two replicas' batches, or a serialization failure: the
// database rolled the statement back and the unit can simply run again.
bool retryable(const pqxx::sql_error& e) { return e.sqlstate() == "40P01" || e.sqlstate() == "40001"; }

constexpr int kUnitAttempts = 3;

// Opens one connection with the session settings every opsgate connection has.
std::unique_ptr<PgStore::Connection> connect(const PgOptions& options) {
  auto connection = std::make_unique<PgStore::Connection>(pg_connection_string(options));
  pqxx::nontransaction tx(connection->c);
  // A hung server or a lock held by a stuck replica fails the statement
  // instead of holding the writer (and every request behind it) forever.
  tx.exec0("SET statement_timeout = " + std::to_string(options.statement_timeout.count() * 1000));
  tx.exec0("SET application_name = " + tx.quote(options.application_name));
  return connection;
}

}  // namespace

std::string pg_connection_string(const PgOptions& options) {
  const std::string timeout = std::to_string(options.connect_timeout.count());
  if (is_uri(options.dsn)) {
    if (options.dsn.find("connect_timeout=") != std::string::npos) {
      return options.dsn;
    }
    const char joiner = options.dsn.find('?') == std::string::npos ? '?' : '&';
    return options.dsn + joiner + "connect_timeout=" + timeout;
  }
  // In a keyword/value string a later keyword wins: the DSN's own setting,
  // if any, overrides this default.
  return "connect_timeout=" + timeout + " " + options.dsn;
}

std::string pg_describe(const std::string& dsn) {
  if (auto loaded = load_libpq(); !loaded) {
    return "<a DSN not read: " + loaded.error().message + ">";
  }
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(dsn.c_str(), &error);
  if (parsed == nullptr) {
    std::string what = error != nullptr ? error : "cannot parse it";
    PQfreemem(error);
    while (!what.empty() && what.back() == '\n') {
      what.pop_back();
    }
    return "<an unreadable DSN: " + what + ">";
  }
  std::string host = "localhost";
  std::string port = "5432";
  std::string dbname;
  std::string user;
  for (PQconninfoOption* option = parsed; option->keyword != nullptr; ++option) {
    if (option->val == nullptr || *option->val == '\0') {
      continue;
    }
    const std::string keyword = option->keyword;
    if (keyword == "host") {
      host = option->val;
    } else if (keyword == "port") {
      port = option->val;
    } else if (keyword == "dbname") {
      dbname = option->val;
    } else if (keyword == "user") {
      user = option->val;
    }
  }
  PQconninfoFree(parsed);
  if (dbname.empty()) {
    dbname = user.empty() ? "?" : user;  // libpq's default database is the user's name
  }
  return host + ":" + port + "/" + dbname;
}

Result<std::shared_ptr<PgStore>> PgStore::open(PgOptions options) {
  if (auto loaded = load_libpq(options.libpq); !loaded) {
    return tl::unexpected(loaded.error());
  }
  if (options.dsn.empty()) {
    return fail(Errc::invalid_input, "the PostgreSQL DSN is empty: set storage.postgres.dsn");
  }
  if (options.max_batch == 0 || options.max_queued == 0 || options.pool_size == 0) {
    return fail(Errc::invalid_input, "the database's max_batch, max_queued and pool_size must be at least 1");
  }
  std::string where = pg_describe(options.dsn);
  std::unique_ptr<Connection> writer;
  try {
    writer = connect(options);
  } catch (const std::exception& e) {
    return fail(Errc::storage, "cannot connect to PostgreSQL at " + where + ": " + e.what() +
                                   " (is the server running, and does storage.postgres.dsn name the right host, port, "
                                   "database and user?)");
  }
  try {
    Result<int> migrated = migrate_pg(writer->c, where);
    if (!migrated) {
      return tl::unexpected(migrated.error());
    }
    return std::shared_ptr<PgStore>(new PgStore(std::move(options), std::move(where), std::move(writer), *migrated));
  } catch (const std::exception& e) {
    return fail(Errc::storage, "cannot bring the schema of the PostgreSQL database at " + where +
                                   " up to date: " + e.what() + " (does the user own the database, or may it create tables?)");
  }
}

PgStore::PgStore(PgOptions options, std::string where, std::unique_ptr<Connection> writer, int opened_at_version)
    : options_(std::move(options)),
      where_(std::move(where)),
      opened_at_version_(opened_at_version),
      writer_conn_(std::move(writer)),
      reader_threads_(options_.pool_size) {
  writer_ = std::thread([this] { run_writer(); });
}

PgStore::~PgStore() {
  close();
  reader_threads_.join();
}

void PgStore::close() {
  std::lock_guard close_lock(close_mutex_);
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) {
    writer_.join();
  }
  writer_conn_.reset();
  std::lock_guard readers(readers_mutex_);
  idle_readers_.clear();
}

Error PgStore::storage_error(const std::exception& e) const {
  return Error{Errc::storage, "PostgreSQL at " + where_ + ": " + e.what()};
}

bool PgStore::submit(PgWriteJob job) {
  std::optional<Error> refused;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (closing_) {
      refused = Error{Errc::storage, "the database at " + where_ + " is closed"};
    } else if (queued_rows_ + job.rows > options_.max_queued) {
      refused = Error{Errc::storage, "the database at " + where_ + " is overloaded: " + std::to_string(queued_rows_) +
                                         " rows are waiting to be written; is PostgreSQL slow or unreachable?"};
    } else {
      if (job.on_queued) {
        job.on_queued();
      }
      queued_rows_ += job.rows;
      queue_.push_back(std::move(job));
      wake = writer_idle_;  // a busy writer takes the queue when its commit is done
    }
  }
  if (refused) {
    if (job.done) {
      job.done(false, &*refused);
    }
    return false;
  }
  if (wake) {
    wake_.notify_one();
  }
  return true;
}

std::size_t PgStore::queued_rows() {
  std::lock_guard lock(mutex_);
  return queued_rows_;
}

void PgStore::lost_writer(const std::string& why) {
  // Dropped, not reused: pqxx would otherwise try to reactivate it inside the
  // next transaction. ensure_writer() opens a fresh one for the next batch.
  writer_conn_.reset();
  if (writer_connected_.exchange(false, std::memory_order_relaxed)) {
    spdlog::error("lost the connection to PostgreSQL at {} ({}): what was being written failed and nothing is "
                  "written (fail closed) until a new connection is open; reconnecting",
                  where_, why);
  }
}

bool PgStore::ensure_writer() {
  if (drop_writer_.exchange(false, std::memory_order_relaxed)) {
    writer_conn_.reset();
  }
  if (writer_conn_ && writer_conn_->c.is_open()) {
    return true;
  }
  writer_conn_.reset();
  try {
    writer_conn_ = connect(options_);
    if (!writer_connected_.exchange(true, std::memory_order_relaxed)) {
      spdlog::warn("the connection to PostgreSQL at {} is open again; writes resume", where_);
    }
    return true;
  } catch (const std::exception& e) {
    if (writer_connected_.exchange(false, std::memory_order_relaxed)) {
      spdlog::error("lost the connection to PostgreSQL at {}: {}; nothing is written (fail closed) until it is back",
                    where_, e.what());
    }
    return false;
  }
}

void PgStore::run_writer() {
  std::vector<PgWriteJob> batch;
  net::Backoff backoff(net::BackoffPolicy{std::chrono::milliseconds(200), std::chrono::milliseconds(5000)});
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      writer_idle_ = true;
      wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      writer_idle_ = false;
      if (queue_.empty()) {
        return;  // closing, and everything queued has been written
      }
      // Group commit: whatever piled up while the last commit ran goes into
      // one transaction. Units are taken whole, so max_batch is a soft cap.
      std::size_t rows = 0;
      while (!queue_.empty() && (batch.empty() || rows + queue_.front().rows <= options_.max_batch)) {
        rows += queue_.front().rows;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_rows_ -= rows;
    }
    if (ensure_writer()) {
      backoff.reset();
      write_batch(batch);
    } else {
      // Fail closed: what waits for the database is refused now, not
      // held while the server is away.
      const Error error{Errc::storage, "PostgreSQL at " + where_ +
                                           " is unreachable; nothing was recorded (is the server up and the network "
                                           "between them working?)"};
      for (PgWriteJob& job : batch) {
        if (job.done) {
          job.done(false, &error);
        }
      }
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, backoff.next(), [this] { return closing_; });
    }
    batch.clear();
  }
}

void PgStore::write_batch(std::vector<PgWriteJob>& batch) {
  std::optional<Error> failure;
  std::vector<std::optional<Error>> thrown(batch.size());
  try {
    pqxx::work tx(writer_conn_->c);
    // Locks that serialise this batch with other replicas' come first, in
    // one order, before any row lock: a batch never waits for one while
    // holding what another batch waits for.
    std::set<std::int64_t> locks;
    for (const PgWriteJob& job : batch) {
      if (job.batch_lock != 0) {
        locks.insert(job.batch_lock);
      }
    }
    for (const std::int64_t key : locks) {
      tx.exec_params("SELECT pg_advisory_xact_lock($1)", key);
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      for (int attempt = 1;; ++attempt) {
        // A savepoint per unit: one unit's refusal or error undoes its own
        // changes only, never its neighbours'.
        tx.exec0("SAVEPOINT unit");
        try {
          const bool keep = batch[i].work(tx);
          tx.exec0(keep ? "RELEASE SAVEPOINT unit" : "ROLLBACK TO SAVEPOINT unit");
          break;
        } catch (const pqxx::broken_connection&) {
          throw;
        } catch (const pqxx::sql_error& e) {
          tx.exec0("ROLLBACK TO SAVEPOINT unit");
          if (retryable(e) && attempt < kUnitAttempts) {
            continue;
          }
          thrown[i] = storage_error(e);
          break;
        } catch (const std::exception& e) {
          tx.exec0("ROLLBACK TO SAVEPOINT unit");
          thrown[i] = storage_error(e);
          break;
        }
      }
    }
    if (take_one(fail_next_commits_)) {
      tx.abort();
      failure = Error{Errc::storage, "could not commit to PostgreSQL at " + where_ +
                                         ": injected failure (test); nothing of this transaction was recorded"};
    } else {
      tx.commit();
    }
  } catch (const pqxx::in_doubt_error& e) {
    // The connection broke during COMMIT: it may or may not have happened.
    failure = Error{Errc::storage, "lost the connection to PostgreSQL at " + where_ + " during COMMIT (" + e.what() +
                                       "); whether this transaction was recorded is unknown"};
    lost_writer(e.what());
  } catch (const pqxx::broken_connection& e) {
    failure = Error{Errc::storage, "lost the connection to PostgreSQL at " + where_ + " (" + e.what() +
                                       "); nothing of this transaction was recorded"};
    lost_writer(e.what());
  } catch (const std::exception& e) {
    failure = Error{Errc::storage, "could not write to PostgreSQL at " + where_ + ": " + e.what() +
                                       "; nothing of this transaction was recorded"};
    if (writer_conn_ && !writer_conn_->c.is_open()) {
      lost_writer(e.what());
    }
  }
  if (!failure) {
    commits_.fetch_add(1, std::memory_order_relaxed);
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!batch[i].done) {
      continue;
    }
    const Error* error = failure ? &*failure : (thrown[i] ? &*thrown[i] : nullptr);
    batch[i].done(!failure, error);
  }
}

Result<void> PgStore::with_pooled(const std::function<void(pqxx::transaction_base&)>& fn, bool writable) {
  // Two tries: an idle connection may have died with a server restart since
  // it was last used. What did not reach it (nothing was committed: a lost
  // COMMIT is in_doubt_error, never retried) runs again on a fresh one.
  for (int attempt = 1;; ++attempt) {
    std::unique_ptr<Connection> connection;
    {
      std::unique_lock lock(readers_mutex_);
      reader_free_.wait(lock, [this] { return !idle_readers_.empty() || readers_out_ < options_.pool_size; });
      if (!idle_readers_.empty()) {
        connection = std::move(idle_readers_.back());
        idle_readers_.pop_back();
      }
      ++readers_out_;
    }
    struct GiveBack {
      PgStore& store;
      std::unique_ptr<Connection>& connection;
      ~GiveBack() {
        {
          std::lock_guard lock(store.readers_mutex_);
          --store.readers_out_;
          if (connection && connection->c.is_open()) {
            store.idle_readers_.push_back(std::move(connection));
          }
        }
        store.reader_free_.notify_one();
      }
    } give_back{*this, connection};
    const bool fresh = !connection;
    try {
      if (fresh) {
        connection = connect(options_);
      }
      if (writable) {
        pqxx::work tx(connection->c);
        fn(tx);
        tx.commit();
      } else {
        pqxx::read_transaction tx(connection->c);
        fn(tx);
        tx.commit();
      }
      return {};
    } catch (const pqxx::broken_connection& e) {
      connection.reset();
      if (fresh || attempt > 1) {
        return fail(Errc::storage, "cannot reach PostgreSQL at " + where_ + ": " + e.what());
      }
    } catch (const std::exception& e) {
      if (connection && !connection->c.is_open()) {
        connection.reset();
      }
      return tl::unexpected(storage_error(e));
    }
  }
}

Result<void> PgStore::ping() {
  return with_pooled([](pqxx::transaction_base& tx) { tx.exec1("SELECT 1"); }, false);
}

boost::asio::awaitable<Result<void>> PgStore::ping_async() {
  Result<bool> answered = co_await read<bool>([](pqxx::transaction_base& tx) -> Result<bool> {
    tx.exec1("SELECT 1");
    return true;
  });
  if (!answered) {
    co_return tl::unexpected(answered.error());
  }
  co_return Result<void>{};
}

}  // namespace opsgate::store
