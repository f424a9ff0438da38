#pragma once
// Thin RAII over libpq for the PostgreSQL store: one connection, statements prepared once per
// connection, parameters and results in text form, and errors turned into std::runtime_error
// with the server's message (never the URL's password).
#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/json.hpp"

namespace spokeflow::store::pg {

// `value` escaped for a column of COPY's text format (backslash, tab, newline, carriage return).
void append_copy_text(std::string& out, const char* value, std::size_t size);

// Whether `location` names a PostgreSQL store (postgresql:// or postgres://).
bool is_url(const std::string& location);
// `url` with its password (in the user part or a password= parameter) replaced by "***".
std::string redact_url(const std::string& url);

// Statement parameters, in libpq's text format.
class Params {
 public:
  Params& add(const std::string& v);
  Params& add(std::int64_t v);
  Params& add_or_null(const std::string& v);  // "" is NULL
  Params& add_time(std::int64_t v);           // 0 is NULL
  Params& add_null();
  Params& add_json(const Json& v);            // null is NULL
  int size() const { return static_cast<int>(values_.size()); }
  // Valid until the next add.
  const char* const* pointers() const;

 private:
  std::vector<std::optional<std::string>> values_;
  mutable std::vector<const char*> pointers_;
};

struct ResultClear {
  void operator()(PGresult* r) const { PQclear(r); }
};

class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  int rows() const { return PQntuples(r_.get()); }
  int columns() const { return PQnfields(r_.get()); }
  bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string text(int row, int col) const;
  std::int64_t integer(int row, int col) const;  // NULL reads 0
  // A JSON column; null for SQL NULL. Text that does not parse (it never should) reads as a
  // string holding the raw text, so that nothing is silently lost.
  Json json(int row, int col) const;
  // Rows an INSERT, UPDATE or DELETE touched.
  std::int64_t affected() const;
  // The command's tag: "COMMIT", "ROLLBACK", "UPDATE 3", ...
  std::string command_status() const { return PQcmdStatus(r_.get()); }

 private:
  std::unique_ptr<PGresult, ResultClear> r_;
};

struct ConnClose {
  void operator()(PGconn* c) const { PQfinish(c); }
};

class Conn {
 public:
  // Connects; throws std::runtime_error naming the store (password left out) and the reason.
  explicit Conn(const std::string& url);
  // Runs `sql` (no parameters; several statements allowed).
  Result exec(const std::string& sql);
  Result exec(const std::string& sql, const Params& params);
  // Runs the statement `sql`, prepared under `name` the first time on this connection.
  Result run(const char* name, const char* sql, const Params& params);
  // Runs `COPY ... FROM STDIN` (text format): `fill` appends rows to the buffer it is given
  // (emptied before each call) and returns false after the last. A `fill` that throws aborts
  // the COPY (the server then fails the statement) and its exception is passed on. Returns the
  // rows copied.
  std::int64_t copy_in(const std::string& sql, const std::function<bool(std::string&)>& fill);
  // False once the connection to the server is lost.
  bool ok() const { return PQstatus(conn_.get()) == CONNECTION_OK; }
  // Connects again (after the server restarted or the network failed); throws when it cannot.
  void reconnect();
  // Inside a transaction block (open, or failed and waiting for its rollback).
  bool in_transaction() const;
  const std::string& where() const { return where_; }
  PGconn* raw() const { return conn_.get(); }

 private:
  Result check(PGresult* r, const std::string& sql);
  std::unique_ptr<PGconn, ConnClose> conn_;
  std::string where_;  // the URL, redacted
  std::unordered_set<std::string> prepared_;
};

}  // namespace spokeflow::store::pg
