#include "store/pg_conn.hpp"

#include <charconv>

#include "common/json_text.hpp"

namespace spokeflow::store::pg {
namespace {

// The server's first line, its SQLSTATE and the statement's first words: what failed, where.
std::string describe_failure(PGconn* conn, const PGresult* r, const std::string& sql) {
  std::string message = r ? PQresultErrorMessage(r) : "";
  if (message.empty()) message = PQerrorMessage(conn);
  if (auto nl = message.find('\n'); nl != std::string::npos) message.resize(nl);
  if (message.empty()) message = "no answer from the server";
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string what = sql.substr(0, sql.find_first_of("(\n"));
  if (what.size() > 60) what = what.substr(0, 60) + "...";
  while (!what.empty() && what.back() == ' ') what.pop_back();
  std::string out = (sql.rfind("SELECT", 0) == 0 ? "store: read failed: " : "store: write failed: ") + message;
  if (state && *state) out += std::string(" (SQLSTATE ") + state + ")";
  return out + " [in: " + what + "]";
}

// libpq prints the server's notices (such as "relation already exists, skipping") on stderr
// unless told otherwise: they are not the caller's business.
void drop_notice(void*, const char*) {}

}  // namespace

bool is_url(const std::string& location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

std::string redact_url(const std::string& url) {
  std::string out = url;
  const auto scheme = out.find("://");
  if (scheme == std::string::npos) return out;
  const auto start = scheme + 3;
  const auto end = out.find_first_of("/?", start);
  const auto at = out.rfind('@', end == std::string::npos ? std::string::npos : end);
  if (at != std::string::npos && at >= start) {
    const auto colon = out.find(':', start);
    if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  // A password given as a parameter: ...?password=secret&...
  for (std::size_t pos = out.find('?'); pos != std::string::npos; pos = out.find('&', pos + 1)) {
    const std::string key = "password=";
    if (out.compare(pos + 1, key.size(), key) == 0) {
      const auto value = pos + 1 + key.size();
      const auto stop = out.find('&', value);
      out.replace(value, (stop == std::string::npos ? out.size() : stop) - value, "***");
    }
  }
  return out;
}

Params& Params::add(const std::string& v) {
  values_.emplace_back(v);
  return *this;
}
Params& Params::add(std::int64_t v) {
  values_.emplace_back(std::to_string(v));
  return *this;
}
Params& Params::add_or_null(const std::string& v) { return v.empty() ? add_null() : add(v); }
Params& Params::add_time(std::int64_t v) { return v == 0 ? add_null() : add(v); }
Params& Params::add_null() {
  values_.emplace_back(std::nullopt);
  return *this;
}
Params& Params::add_json(const Json& v) { return v.is_null() ? add_null() : add(dump_json(v)); }

const char* const* Params::pointers() const {
  pointers_.clear();
  for (const auto& v : values_) pointers_.push_back(v ? v->c_str() : nullptr);
  return pointers_.data();
}

std::string Result::text(int row, int col) const {
  if (is_null(row, col)) return {};
  return std::string(PQgetvalue(r_.get(), row, col), static_cast<std::size_t>(PQgetlength(r_.get(), row, col)));
}

std::int64_t Result::integer(int row, int col) const {
  if (is_null(row, col)) return 0;
  const char* p = PQgetvalue(r_.get(), row, col);
  const char* end = p + PQgetlength(r_.get(), row, col);
  std::int64_t v = 0;
  if (end - p == 1 && (*p == 't' || *p == 'f')) return *p == 't';  // a boolean
  auto [ptr, ec] = std::from_chars(p, end, v);
  if (ec != std::errc() || ptr != end) throw std::runtime_error("store: a column read as a number is not one: " + std::string(p, end));
  return v;
}

Json Result::json(int row, int col) const {
  if (is_null(row, col)) return nullptr;
  std::string raw = text(row, col);
  auto parsed = parse_json(raw, kMaxRecordDepth);
  if (parsed.ok()) return std::move(*parsed);
  return Json(std::move(raw));
}

std::int64_t Result::affected() const {
  const char* n = PQcmdTuples(r_.get());
  return (n && *n) ? std::stoll(n) : 0;
}

Conn::Conn(const std::string& url) : where_(redact_url(url)) {
  conn_.reset(PQconnectdb(url.c_str()));
  if (!conn_) throw std::runtime_error("cannot open store " + where_ + ": out of memory");
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn_.get());
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    throw std::runtime_error("cannot open store " + where_ + ": " + message);
  }
  PQsetNoticeProcessor(conn_.get(), drop_notice, nullptr);
}

void Conn::reconnect() {
  prepared_.clear();
  PQreset(conn_.get());
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn_.get());
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    throw std::runtime_error("store " + where_ + ": cannot connect again: " + message);
  }
  PQsetNoticeProcessor(conn_.get(), drop_notice, nullptr);
}

bool Conn::in_transaction() const {
  auto s = PQtransactionStatus(conn_.get());
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

Result Conn::check(PGresult* r, const std::string& sql) {
  const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Result(r);
  std::string message = describe_failure(conn_.get(), r, sql);
  if (r) PQclear(r);
  throw std::runtime_error(message);
}

Result Conn::exec(const std::string& sql) { return check(PQexec(conn_.get(), sql.c_str()), sql); }

Result Conn::exec(const std::string& sql, const Params& params) {
  return check(PQexecParams(conn_.get(), sql.c_str(), params.size(), nullptr, params.pointers(), nullptr, nullptr, 0), sql);
}

std::int64_t Conn::copy_in(const std::string& sql, const std::function<bool(std::string&)>& fill) {
  PGresult* started = PQexec(conn_.get(), sql.c_str());
  if (!started || PQresultStatus(started) != PGRES_COPY_IN) {
    Result answered = check(started, sql);  // throws with the server's message when it failed
    throw std::runtime_error("store: the statement did not start a COPY FROM STDIN [in: " + sql.substr(0, 40) + "]");
  }
  PQclear(started);
  // The server's answer to the COPY (and nothing after it) once the data has ended.
  auto finish = [&] {
    Result r = check(PQgetResult(conn_.get()), sql);
    while (PGresult* extra = PQgetResult(conn_.get())) PQclear(extra);
    return r;
  };
  std::string buffer;
  try {
    for (bool more = true; more;) {
      buffer.clear();
      more = fill(buffer);
      if (!buffer.empty() && PQputCopyData(conn_.get(), buffer.data(), static_cast<int>(buffer.size())) != 1)
        throw std::runtime_error("store: write failed: " + std::string(PQerrorMessage(conn_.get())) + " [in: COPY]");
    }
  } catch (...) {
    PQputCopyEnd(conn_.get(), "the copy was stopped by its source");
    try {
      finish();
    } catch (const std::exception&) {
      // The server reports the abort asked for: the first failure is the one passed on.
    }
    throw;
  }
  if (PQputCopyEnd(conn_.get(), nullptr) != 1)
    throw std::runtime_error("store: write failed: " + std::string(PQerrorMessage(conn_.get())) + " [in: COPY]");
  return finish().affected();
}

void append_copy_text(std::string& out, const char* value, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    const char c = value[i];
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
}

Result Conn::run(const char* name, const char* sql, const Params& params) {
  if (!prepared_.count(name)) {
    check(PQprepare(conn_.get(), name, sql, 0, nullptr), sql);
    prepared_.insert(name);
  }
  return check(PQexecPrepared(conn_.get(), name, params.size(), params.pointers(), nullptr, nullptr, 0), sql);
}

}  // namespace spokeflow::store::pg
