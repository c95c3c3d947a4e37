#include "src/store/pq_library.hpp"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include <libpq-fe.h>

#include "src/core/shared_library.hpp"

// Every libpq function libpqxx 6.4 (linked statically: libpqxx.a) and opsgate
// call, defined here as a forwarder to the same function in libpq.so.5, which
// is loaded on the first call. So a process on SQLite never maps libpq nor what
// it pulls in (GnuTLS through libldap, Kerberos). The signatures are libpq-fe.h's
// own (a mismatch is a compile error: the header declares each one extern "C").
// To add one: copy its declaration from libpq-fe.h into a line below.

namespace opsgate::store {

namespace {

// Set once under the mutex and never closed: every forwarder keeps the
// address it resolved, and OpenSSL (loaded with libpq) registers exit handlers.
struct Loaded {
  std::mutex mutex;
  void* handle = nullptr;
};

Loaded& loaded() {
  static Loaded instance;
  return instance;
}

void* current_handle() {
  Loaded& state = loaded();
  std::lock_guard lock(state.mutex);
  return state.handle;
}

void* handle_or_die() {
  if (void* handle = current_handle(); handle != nullptr) {
    return handle;
  }
  if (auto ok = load_libpq(); !ok) {
    // Only a path that skipped load_libpq() (PgStore::open calls it) gets here:
    // libpq is missing and there is no caller to hand an error to.
    std::fprintf(stderr, "opsgate: %s\n", ok.error().message.c_str());
    std::abort();
  }
  return current_handle();
}

template <class Fn>
Fn resolve(const char* name) {
  void* address = dlsym(handle_or_die(), name);
  if (address == nullptr) {
    std::fprintf(stderr, "opsgate: %s has no %s: PostgreSQL's libpq 10 or newer is needed (Debian: apt-get install libpq5)\n",
                 std::string(kLibpq).c_str(), name);
    std::abort();
  }
  return reinterpret_cast<Fn>(address);
}

}  // namespace

Result<void> load_libpq(std::string_view library) {
  Loaded& state = loaded();
  std::lock_guard lock(state.mutex);
  // Its symbols reach opsgate only through the forwarders below (RTLD_LOCAL).
  auto opened = open_shared_library(library, "storage.backend: postgres", "libpq5");
  if (!opened) {
    return tl::unexpected(opened.error());
  }
  void* handle = *opened;
  if (state.handle != nullptr) {
    dlclose(handle);  // loaded before: dlopen only counted one more reference
    return {};
  }
  state.handle = handle;
  return {};
}

}  // namespace opsgate::store

// A function-local static per forwarder: resolved once, thread-safe.
#define OPSGATE_PQ_FORWARD(ret, name, params, args)                                                   \
  extern "C" ret name params {                                                                        \
    static const auto fn = opsgate::store::resolve<decltype(&name)>(#name);                           \
    return fn args;                                                                                    \
  }

OPSGATE_PQ_FORWARD(int, PQbackendPID, (const PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(int, PQcancel, (PGcancel *cancel, char *errbuf, int errbufsize), (cancel, errbuf, errbufsize))
OPSGATE_PQ_FORWARD(void, PQclear, (PGresult *res), (res))
OPSGATE_PQ_FORWARD(int, PQclientEncoding, (const PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(char *, PQcmdStatus, (PGresult *res), (res))
OPSGATE_PQ_FORWARD(char *, PQcmdTuples, (PGresult *res), (res))
OPSGATE_PQ_FORWARD(PostgresPollingStatusType, PQconnectPoll, (PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(PGconn *, PQconnectStart, (const char *conninfo), (conninfo))
OPSGATE_PQ_FORWARD(PGconn *, PQconnectdb, (const char *conninfo), (conninfo))
OPSGATE_PQ_FORWARD(void, PQconninfoFree, (PQconninfoOption *connOptions), (connOptions))
OPSGATE_PQ_FORWARD(PQconninfoOption *, PQconninfoParse, (const char *conninfo, char **errmsg), (conninfo, errmsg))
OPSGATE_PQ_FORWARD(int, PQconsumeInput, (PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(char *, PQdb, (const PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(char *, PQencryptPassword, (const char *passwd, const char *user), (passwd, user))
OPSGATE_PQ_FORWARD(int, PQendcopy, (PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(char *, PQerrorMessage, (const PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(unsigned char *, PQescapeByteaConn, (PGconn *conn, const unsigned char *from, size_t from_length, size_t *to_length), (conn, from, from_length, to_length))
OPSGATE_PQ_FORWARD(char *, PQescapeIdentifier, (PGconn *conn, const char *str, size_t len), (conn, str, len))
OPSGATE_PQ_FORWARD(size_t, PQescapeStringConn, (PGconn *conn, char *to, const char *from, size_t length, int *error), (conn, to, from, length, error))
OPSGATE_PQ_FORWARD(PGresult *, PQexec, (PGconn *conn, const char *query), (conn, query))
OPSGATE_PQ_FORWARD(PGresult *, PQexecParams, (PGconn *conn, const char *command, int nParams, const Oid *paramTypes, const char *const *paramValues, const int *paramLengths, const int *paramFormats, int resultFormat), (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat))
OPSGATE_PQ_FORWARD(PGresult *, PQexecPrepared, (PGconn *conn, const char *stmtName, int nParams, const char *const *paramValues, const int *paramLengths, const int *paramFormats, int resultFormat), (conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat))
OPSGATE_PQ_FORWARD(void, PQfinish, (PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(char *, PQfname, (const PGresult *res, int field_num), (res, field_num))
OPSGATE_PQ_FORWARD(int, PQfnumber, (const PGresult *res, const char *field_name), (res, field_name))
OPSGATE_PQ_FORWARD(void, PQfreeCancel, (PGcancel *cancel), (cancel))
OPSGATE_PQ_FORWARD(void, PQfreemem, (void *ptr), (ptr))
OPSGATE_PQ_FORWARD(Oid, PQftable, (const PGresult *res, int field_num), (res, field_num))
OPSGATE_PQ_FORWARD(int, PQftablecol, (const PGresult *res, int field_num), (res, field_num))
OPSGATE_PQ_FORWARD(Oid, PQftype, (const PGresult *res, int field_num), (res, field_num))
OPSGATE_PQ_FORWARD(PGcancel *, PQgetCancel, (PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(int, PQgetCopyData, (PGconn *conn, char **buffer, int async), (conn, buffer, async))
OPSGATE_PQ_FORWARD(PGresult *, PQgetResult, (PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(int, PQgetisnull, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num))
OPSGATE_PQ_FORWARD(int, PQgetlength, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num))
OPSGATE_PQ_FORWARD(char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num))
OPSGATE_PQ_FORWARD(char *, PQhost, (const PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(int, PQisBusy, (PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(int, PQisthreadsafe, (void), ())
OPSGATE_PQ_FORWARD(int, PQnfields, (const PGresult *res), (res))
OPSGATE_PQ_FORWARD(PGnotify *, PQnotifies, (PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(int, PQntuples, (const PGresult *res), (res))
OPSGATE_PQ_FORWARD(Oid, PQoidValue, (const PGresult *res), (res))
OPSGATE_PQ_FORWARD(char *, PQport, (const PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(PGresult *, PQprepare, (PGconn *conn, const char *stmtName, const char *query, int nParams, const Oid *paramTypes), (conn, stmtName, query, nParams, paramTypes))
OPSGATE_PQ_FORWARD(int, PQprotocolVersion, (const PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(int, PQputCopyData, (PGconn *conn, const char *buffer, int nbytes), (conn, buffer, nbytes))
OPSGATE_PQ_FORWARD(int, PQputCopyEnd, (PGconn *conn, const char *errormsg), (conn, errormsg))
OPSGATE_PQ_FORWARD(void, PQreset, (PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(char *, PQresultErrorField, (const PGresult *res, int fieldcode), (res, fieldcode))
OPSGATE_PQ_FORWARD(char *, PQresultErrorMessage, (const PGresult *res), (res))
OPSGATE_PQ_FORWARD(ExecStatusType, PQresultStatus, (const PGresult *res), (res))
OPSGATE_PQ_FORWARD(int, PQsendQuery, (PGconn *conn, const char *query), (conn, query))
OPSGATE_PQ_FORWARD(int, PQserverVersion, (const PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(int, PQsetClientEncoding, (PGconn *conn, const char *encoding), (conn, encoding))
OPSGATE_PQ_FORWARD(PGVerbosity, PQsetErrorVerbosity, (PGconn *conn, PGVerbosity verbosity), (conn, verbosity))
OPSGATE_PQ_FORWARD(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn *conn, PQnoticeProcessor proc, void *arg), (conn, proc, arg))
OPSGATE_PQ_FORWARD(int, PQsocket, (const PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(ConnStatusType, PQstatus, (const PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(void, PQtrace, (PGconn *conn, FILE *debug_port), (conn, debug_port))
OPSGATE_PQ_FORWARD(unsigned char *, PQunescapeBytea, (const unsigned char *strtext, size_t *retbuflen), (strtext, retbuflen))
OPSGATE_PQ_FORWARD(void, PQuntrace, (PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(char *, PQuser, (const PGconn *conn), (conn))
OPSGATE_PQ_FORWARD(int, lo_close, (PGconn *conn, int fd), (conn, fd))
OPSGATE_PQ_FORWARD(Oid, lo_creat, (PGconn *conn, int mode), (conn, mode))
OPSGATE_PQ_FORWARD(int, lo_export, (PGconn *conn, Oid lobjId, const char *filename), (conn, lobjId, filename))
OPSGATE_PQ_FORWARD(Oid, lo_import, (PGconn *conn, const char *filename), (conn, filename))
OPSGATE_PQ_FORWARD(int, lo_lseek, (PGconn *conn, int fd, int offset, int whence), (conn, fd, offset, whence))
OPSGATE_PQ_FORWARD(int, lo_open, (PGconn *conn, Oid lobjId, int mode), (conn, lobjId, mode))
OPSGATE_PQ_FORWARD(int, lo_read, (PGconn *conn, int fd, char *buf, size_t len), (conn, fd, buf, len))
OPSGATE_PQ_FORWARD(int, lo_tell, (PGconn *conn, int fd), (conn, fd))
OPSGATE_PQ_FORWARD(int, lo_unlink, (PGconn *conn, Oid lobjId), (conn, lobjId))
OPSGATE_PQ_FORWARD(int, lo_write, (PGconn *conn, int fd, const char *buf, size_t len), (conn, fd, buf, len))
OPSGATE_PQ_FORWARD(const char *, pg_encoding_to_char, (int encoding), (encoding))
