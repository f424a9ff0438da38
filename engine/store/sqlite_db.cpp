#include "store/sqlite_db.hpp"

#include "common/json_text.hpp"

namespace spokeflow::store::sqlite {

void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error("store: " + msg);
  }
}

void exec_noexcept(sqlite3* db, const char* sql) noexcept { sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }

Statement::Statement(sqlite3* db, const char* sql) : db_(db) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
    throw std::runtime_error(std::string("store: cannot prepare statement: ") + sqlite3_errmsg(db));
  stmt_.reset(s);
}

Statement& Statement::bind(int i, const std::string& v) {
  check(sqlite3_bind_text(stmt_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  return *this;
}

Statement& Statement::bind_or_null(int i, const std::string& v) {
  if (v.empty()) return bind_null(i);
  return bind(i, v);
}

Statement& Statement::bind(int i, std::int64_t v) {
  check(sqlite3_bind_int64(stmt_.get(), i, v));
  return *this;
}

Statement& Statement::bind_time(int i, std::int64_t v) {
  if (v == 0) return bind_null(i);
  return bind(i, v);
}

Statement& Statement::bind_null(int i) {
  check(sqlite3_bind_null(stmt_.get(), i));
  return *this;
}

void Statement::run() {
  int rc = sqlite3_step(stmt_.get());
  // A statement with RETURNING has a row to step over first.
  while (rc == SQLITE_ROW) rc = sqlite3_step(stmt_.get());
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  if (rc != SQLITE_DONE) throw std::runtime_error(std::string("store: write failed: ") + sqlite3_errmsg(db_));
}

bool Statement::next() {
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  if (rc != SQLITE_DONE) throw std::runtime_error(std::string("store: read failed: ") + sqlite3_errmsg(db_));
  return false;
}

void Statement::done() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

std::string Statement::text(int col) const {
  auto* p = sqlite3_column_text(stmt_.get(), col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), col)))
           : std::string();
}

std::int64_t Statement::integer(int col) const { return sqlite3_column_int64(stmt_.get(), col); }

bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL; }

Json Statement::json(int col) const {
  if (is_null(col)) return nullptr;
  std::string raw = text(col);
  // Records hold bounded values (common/json_text.hpp), with room for what the engine wraps around them.
  auto parsed = parse_json(raw, kMaxRecordDepth);
  if (parsed.ok()) return std::move(*parsed);
  return Json(std::move(raw));
}

void Statement::check(int rc) {
  if (rc != SQLITE_OK) throw std::runtime_error(std::string("store: bind failed: ") + sqlite3_errmsg(db_));
}

}  // namespace spokeflow::store::sqlite
