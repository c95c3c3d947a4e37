#include "src/store/sqlite_store.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <pthread.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include "src/store/database_lock.hpp"
#include "src/store/schema.hpp"

namespace opsgate::store {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxIdleReaders = 4;

// Takes one unit from the test's failure budget, if any is left.
bool take_one(std::atomic<int>& budget) {
  int left = budget.load(std::memory_order_relaxed);
  while (left > 0 && !budget.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) {
  }
  return left > 0;
}

}  // namespace

Result<std::shared_ptr<SqliteStore>> SqliteStore::open(std::string path, StoreOptions options) {
  if (path.empty()) {
    return fail(Errc::invalid_input, "the database path is empty: set storage.path");
  }
  if (options.max_batch == 0 || options.max_queued == 0) {
    return fail(Errc::invalid_input, "the database's max_batch and max_queued must be at least 1");
  }
  const bool in_memory = path == ":memory:";
  if (!in_memory) {
    const fs::path parent = fs::path(path).parent_path();
    if (!parent.empty()) {
      std::error_code ec;
      fs::create_directories(parent, ec);
      if (ec) {
        return fail(Errc::storage, "cannot create the directory " + parent.string() + " for the database at " + path +
                                       ": " + ec.message());
      }
    }
  }
  std::unique_ptr<DatabaseLock> lock;
  if (!options.lock_owner.empty() && !in_memory) {
    auto acquired = DatabaseLock::acquire(path, options.lock_owner);
    if (!acquired) {
      return tl::unexpected(acquired.error());
    }
    lock = std::move(*acquired);
  }
  static std::once_flag configured;
  std::call_once(configured, [] {
    // Before SQLite initializes (else a no-op): no global allocation
    // counters, which take a process-wide mutex around every allocation.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  });
  try {
    // NOMUTEX: each connection is used by one thread at a time (the writer's
    // by the writer thread, a reader by whoever took it from the pool), so
    // SQLite's per-call connection lock is pure cost.
    auto db = std::make_unique<SQLite::Database>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX);
    db->setBusyTimeout(options.busy_timeout_ms);
    if (!in_memory) {
      // WAL lets readers (the CLI, the reader connections) read while the
      // writer writes; FULL makes each COMMIT fsync, which is what "a write
      // completes when durable" promises.
      const std::string mode = db->execAndGet("PRAGMA journal_mode=WAL").getString();
      if (mode != "wal") {
        return fail(Errc::storage, "cannot use write-ahead logging for the database at " + path +
                                       " (journal mode stays '" + mode + "'); is it on a network file system?");
      }
    }
    db->exec("PRAGMA synchronous=FULL");
    // The writer appends (time-ordered keys): it touches the right edge of
    // each b-tree, not the 2 MB SQLite caches by default.
    db->exec("PRAGMA cache_size=-512");
    // One transaction, so two processes opening a fresh file at once cannot
    // interleave half a schema.
    db->exec("BEGIN IMMEDIATE");
    Result<int> migrated = fail(Errc::internal, "not migrated");
    try {
      migrated = migrate(*db, path);
      if (!migrated) {
        db->exec("ROLLBACK");
        return tl::unexpected(migrated.error());
      }
      db->exec("COMMIT");
    } catch (const SQLite::Exception&) {
      db->tryExec("ROLLBACK");
      throw;
    }
    return std::shared_ptr<SqliteStore>(
        new SqliteStore(std::move(path), std::move(options), std::move(lock), std::move(db), *migrated));
  } catch (const SQLite::Exception& e) {
    return fail(Errc::storage, "cannot open the database at " + path + ": " + e.what());
  }
}

SqliteStore::SqliteStore(std::string path, StoreOptions options, std::unique_ptr<DatabaseLock> lock,
                         std::unique_ptr<SQLite::Database> db, int opened_at_version)
    : path_(std::move(path)),
      options_(std::move(options)),
      in_memory_(path_ == ":memory:"),
      opened_at_version_(opened_at_version),
      lock_(std::move(lock)),
      db_(std::move(db)) {
  writer_ = std::thread([this] { run_writer(); });
}

SqliteStore::~SqliteStore() {
  close();
  reader_thread_.join();
}

void SqliteStore::close() {
  std::lock_guard close_lock(close_mutex_);
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) {
    writer_.join();
  }
  statements_.clear();
  db_.reset();
  std::lock_guard readers(readers_mutex_);
  idle_readers_.clear();
}

SQLite::Statement& SqliteStore::statement(const char* sql) {
  auto& cached = statements_[sql];
  if (!cached) {
    cached = std::make_unique<SQLite::Statement>(*db_, sql);
  } else {
    cached->tryReset();  // a failed step's error was reported where it happened
  }
  return *cached;
}

Error SqliteStore::storage_error(const std::exception& e) const {
  return Error{Errc::storage, "database at " + path_ + ": " + e.what() + " (is the disk full or the file read-only?)"};
}

bool SqliteStore::submit(WriteJob job) {
  std::optional<Error> refused;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (closing_) {
      refused = Error{Errc::storage, "the database at " + path_ + " is closed"};
    } else if (queued_rows_ + job.rows > options_.max_queued) {
      refused = Error{Errc::storage, "the database at " + path_ + " is overloaded: " + std::to_string(queued_rows_) +
                                         " rows are waiting to be written; is the disk slow or full?"};
    } else {
      if (job.on_queued) {
        job.on_queued();
      }
      queued_rows_ += job.rows;
      queue_.push_back(std::move(job));
      // A busy writer takes the queue when its commit is done: waking it
      // costs a system call per write for nothing.
      wake = writer_idle_;
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

void SqliteStore::run_writer() {
  // Named so `top -H` and profilers tell it from the I/O thread.
  pthread_setname_np(pthread_self(), "opsgate-writer");
  std::vector<WriteJob> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      writer_idle_ = true;
      wake_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      writer_idle_ = false;
      if (queue_.empty()) {
        return;  // closing, and everything queued has been written
      }
      // Group commit: whatever piled up while the last fsync ran goes into
      // one transaction. Units are taken whole, so max_batch is a soft cap.
      std::size_t rows = 0;
      if (queued_rows_ <= options_.max_batch) {
        rows = queued_rows_;
        batch.swap(queue_);  // all of it: the common case
      } else {
        std::size_t taken = 0;
        while (taken < queue_.size() && (taken == 0 || rows + queue_[taken].rows <= options_.max_batch)) {
          rows += queue_[taken].rows;
          batch.push_back(std::move(queue_[taken]));
          ++taken;
        }
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(taken));
      }
      queued_rows_ -= rows;
    }
    write_batch(batch);
    batch.clear();
  }
}

void SqliteStore::write_batch(std::vector<WriteJob>& batch) {
  std::optional<Error> failure;
  std::vector<std::optional<Error>> thrown(batch.size());
  try {
    // IMMEDIATE takes the write lock now, so a lock held elsewhere is waited
    // for (busy_timeout) instead of failing at the first INSERT.
    statement("BEGIN IMMEDIATE").exec();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      // A savepoint per unit: one unit's refusal or error undoes its own
      // changes only, never its neighbours'. Prepared once: parsing these
      // three for every unit cost more than the unit's INSERT.
      const bool savepoint = !batch[i].self_contained;
      if (savepoint) {
        statement("SAVEPOINT unit").exec();
      }
      bool keep = false;
      try {
        keep = batch[i].work(*db_);
      } catch (const std::exception& e) {
        thrown[i] = storage_error(e);
      }
      if (savepoint) {
        if (!keep) {
          statement("ROLLBACK TO unit").exec();
        }
        statement("RELEASE unit").exec();
      } else if (thrown[i] && sqlite3_get_autocommit(db_->getHandle()) != 0) {
        // Some errors (disk full, I/O) make SQLite roll back the whole
        // transaction, not just the statement: nothing of the batch is left
        // to commit. (With a savepoint, ROLLBACK TO fails the same way.)
        throw std::runtime_error(thrown[i]->message + "; the transaction was rolled back");
      }
    }
    if (take_one(fail_next_commits_)) {
      failure = Error{Errc::storage, "could not commit to the database at " + path_ +
                                         ": injected failure (test); nothing of this transaction was recorded"};
    } else {
      statement("COMMIT").exec();
    }
  } catch (const std::exception& e) {
    // I/O error, disk full, lock timeout: none of the batch is durable.
    failure = Error{Errc::storage, "could not write to the database at " + path_ + ": " + e.what() +
                                       "; nothing of this transaction was recorded"};
  }
  if (failure) {
    // A failed COMMIT may leave the transaction open (SQLITE_BUSY) or SQLite
    // may have rolled it back already (I/O error); only roll back if open.
    if (sqlite3_get_autocommit(db_->getHandle()) == 0) {
      db_->tryExec("ROLLBACK");
    }
  } else {
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

std::unique_ptr<SQLite::Database> SqliteStore::take_reader() {
  {
    std::lock_guard lock(readers_mutex_);
    if (!idle_readers_.empty()) {
      auto reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return reader;
    }
  }
  auto reader = std::make_unique<SQLite::Database>(path_, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX);
  reader->setBusyTimeout(options_.busy_timeout_ms);
  return reader;
}

void SqliteStore::give_back_reader(std::unique_ptr<SQLite::Database> reader) {
  std::lock_guard lock(readers_mutex_);
  if (idle_readers_.size() < kMaxIdleReaders) {
    idle_readers_.push_back(std::move(reader));
  }
}

Result<void> SqliteStore::ping() {
  if (!in_memory_) {
    const std::string folder = std::filesystem::path(path_).parent_path().string();
    for (const std::string& p : {path_, folder.empty() ? std::string(".") : folder}) {
      if (::access(p.c_str(), W_OK) != 0) {
        return fail(Errc::storage, "the database " + path_ + " cannot be written (" + p + ": " +
                                       std::strerror(errno) + "); check the volume and its permissions");
      }
    }
  }
  auto answered = read_now<int>([](SQLite::Database& db) -> Result<int> {
    return db.execAndGet("SELECT count(*) FROM sqlite_master").getInt();
  });
  if (!answered) {
    return tl::unexpected(answered.error());
  }
  return {};
}

}  // namespace opsgate::store
