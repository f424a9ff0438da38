#pragma once
// Thin RAII over the SQLite C API for the store: the connection, prepared statements reset on
// every use, and errors turned into std::runtime_error with SQLite's message.
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "common/json.hpp"

namespace spokeflow::store::sqlite {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Runs SQL that returns no rows; throws with SQLite's message.
void exec(sqlite3* db, const std::string& sql);
void exec_noexcept(sqlite3* db, const char* sql) noexcept;

// One prepared statement, reset on every use.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql);
  Statement& bind(int i, const std::string& v);
  Statement& bind_or_null(int i, const std::string& v);  // "" binds NULL
  Statement& bind(int i, std::int64_t v);
  Statement& bind_time(int i, std::int64_t v);            // 0 binds NULL
  Statement& bind_null(int i);
  // Runs a statement that returns no rows.
  void run();
  // Steps to the next row; false (and reset) at the end.
  bool next();
  // Resets after reading fewer rows than there were.
  void done();
  std::string text(int col) const;
  std::int64_t integer(int col) const;
  bool is_null(int col) const;
  // A JSON column; null for SQL NULL. Text that does not parse (it never should) reads as a
  // string holding the raw text, so that nothing is silently lost.
  Json json(int col) const;
  sqlite3* db() const { return db_; }

 private:
  void check(int rc);
  sqlite3* db_;
  StmtPtr stmt_;
};

}  // namespace spokeflow::store::sqlite
