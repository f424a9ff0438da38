// `spokeflow store copy`: an SQLite store's rows streamed into PostgreSQL with COPY, inside one
// transaction on the target that also creates its tables when they are missing.
#include "store/store_copy.hpp"

#include <filesystem>
#include <optional>

#include "store/pg_conn.hpp"
#include "store/pg_schema.hpp"
#include "store/sqlite_db.hpp"
#include "store/sqlite_schema.hpp"

namespace spokeflow::store {
namespace {

const std::vector<CopiedTable> kTables = {
    {"flow_sources", {"hash", "source"}},
    {"executions",
     {"id", "flow_name", "flow_file", "flow_hash", "inputs", "status", "trigger", "created_at", "started_at", "finished_at",
      "outputs", "error", "parent_id", "parent_step", "run_at", "dedupe_key", "lease_owner", "lease_until", "epoch",
      "strikes", "progress", "cancel_requested", "retried_at"}},
    {"step_runs",
     {"seq", "execution_id", "path", "attempt", "kind", "status", "inputs", "outputs", "error", "started_at", "finished_at",
      "client"}},
    {"api_tokens", {"name", "role", "hash", "created_at", "expires_at", "revoked_at", "last_used_at"}},
    {"hook_deliveries", {"event_id", "hook", "received_at", "events", "started", "redeliveries", "last_redelivered_at"}},
    {"schedule_fires", {"flow", "trigger", "scheduled_at", "recorded_at", "outcome", "execution_id", "missed"}},
    {"ui_sessions", {"id_hash", "token_hash", "created_at", "expires_at"}},
};

using Row = std::vector<std::optional<std::string>>;  // nullopt: NULL

std::size_t column_index(const CopiedTable& t, const std::string& name) {
  for (std::size_t i = 0; i < t.columns.size(); ++i)
    if (name == t.columns[i]) return i;
  throw std::logic_error("store copy: no column " + name + " in " + t.name);
}

std::string column_list(const CopiedTable& t) {
  std::string out;
  for (const char* c : t.columns) out += (out.empty() ? "" : ", ") + std::string(c);
  return out;
}

// The source, read-only, in one read transaction: every table is read from the same snapshot
// even if something writes to the file meanwhile.
struct Source {
  std::string path;
  sqlite::DbPtr db;

  explicit Source(const std::string& p) : path(p) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
      throw CopyRefused("no SQLite store at '" + path + "' (--from names the SQLite file to copy)");
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    db.reset(raw);
    if (rc != SQLITE_OK)
      throw std::runtime_error("cannot open store '" + path + "': " + (raw ? sqlite3_errmsg(raw) : "out of memory"));
    sqlite3_busy_timeout(db.get(), 5000);
    sqlite::exec(db.get(), "BEGIN");
  }

  std::int64_t number(const char* sql) {
    sqlite::Statement s(db.get(), sql);
    std::int64_t v = 0;
    if (s.next()) v = s.integer(0);
    s.done();
    return v;
  }

  void check_schema() {
    if (number("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'executions'") == 0)
      throw CopyRefused("'" + path + "' is not a spokeflow store (it has no executions table)");
    const auto version = number("PRAGMA user_version");
    if (version > sqlite::kSchemaVersion)
      throw CopyRefused("store '" + path + "' was written by a newer spokeflow (schema " + std::to_string(version) +
                        "; this one copies schema " + std::to_string(sqlite::kSchemaVersion) + ")");
    if (version < sqlite::kSchemaVersion)
      throw CopyRefused("store '" + path + "' has schema " + std::to_string(version) + "; this spokeflow copies schema " +
                        std::to_string(sqlite::kSchemaVersion) + ": run `spokeflow store migrate --store " + path +
                        "` first");
  }

  // Top-level executions running under a lease that has not expired: a worker may be running
  // them now, writing to the SQLite file.
  void check_leases(std::int64_t now_ms) {
    sqlite::Statement s(db.get(),
                        "SELECT count(*), min(lease_owner), max(lease_until) FROM executions WHERE parent_id IS NULL AND "
                        "status = 'running' AND lease_until > ?1");
    s.bind(1, now_ms);
    std::int64_t held = 0;
    std::string owner;
    if (s.next()) {
      held = s.integer(0);
      owner = s.text(1);
    }
    s.done();
    if (held > 0)
      throw CopyRefused(std::to_string(held) + " execution(s) in '" + path +
                        "' run under a lease that has not expired (worker " + owner +
                        "): stop the workers first (SIGTERM drains them and gives their leases back), then copy; "
                        "--force copies them anyway, as if their leases had expired");
  }
};

// The COPY text line of `row`.
void append_row(std::string& out, const Row& row) {
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (i) out += '\t';
    if (row[i]) pg::append_copy_text(out, row[i]->data(), row[i]->size());
    else out += "\\N";
  }
  out += '\n';
}

// Streams the rows of `table` from the source into `target_table` (the table itself, or a
// staging table of the same columns); `adjust` may change a row on its way. Returns the rows.
template <class Adjust>
std::int64_t stream_table(Source& src, pg::Conn& conn, const CopiedTable& table, const std::string& target_table,
                          Adjust adjust) {
  const std::string columns = column_list(table);
  sqlite::Statement read(src.db.get(), ("SELECT " + columns + " FROM " + table.name).c_str());
  const int n = static_cast<int>(table.columns.size());
  Row row(table.columns.size());
  constexpr std::size_t kChunk = 1u << 20;
  return conn.copy_in("COPY " + target_table + "(" + columns + ") FROM STDIN", [&](std::string& buffer) {
    while (buffer.size() < kChunk) {
      if (!read.next()) return false;
      for (int i = 0; i < n; ++i) {
        if (read.is_null(i)) row[static_cast<std::size_t>(i)].reset();
        else row[static_cast<std::size_t>(i)] = read.text(i);
      }
      adjust(row);
      append_row(buffer, row);
    }
    return true;
  });
}

void no_change(Row&) {}

}  // namespace

const std::vector<CopiedTable>& copied_tables() { return kTables; }

CopyReport copy_sqlite_to_pg(const std::string& sqlite_path, const std::string& pg_url, const CopyOptions& o) {
  Source src(sqlite_path);
  src.check_schema();
  if (!o.force) src.check_leases(o.now_ms);

  CopyReport report;
  pg::Conn conn(pg_url);
  conn.exec("BEGIN");
  try {
    // Creates the tables when the target is new: they go with the copy if it fails.
    pg::create_or_migrate_in_transaction(conn, false);
    report.schema = pg::kSchemaVersion;
    std::string tables;
    for (const auto& t : kTables) tables += (tables.empty() ? "" : ", ") + std::string(t.name);
    // Nobody else writes to the target until the copy commits (its emptiness stays true).
    conn.exec("LOCK TABLE " + tables + " IN SHARE ROW EXCLUSIVE MODE");
    std::string holding;
    for (const auto& t : kTables)
      if (conn.exec(std::string("SELECT EXISTS(SELECT 1 FROM ") + t.name + ")").text(0, 0) == "t")
        holding += (holding.empty() ? "" : ", ") + std::string(t.name);
    if (!holding.empty() && !o.merge)
      throw CopyRefused("the target store " + conn.where() + " holds records already (" + holding +
                        "): nothing was copied; copy into an empty store, or give --merge to add the records beside "
                        "those there");
    const std::int64_t seq_offset = conn.exec("SELECT COALESCE(max(seq), 0) FROM step_runs").integer(0, 0);

    for (const auto& t : kTables) {
      const std::string name = t.name;
      std::int64_t rows = 0;
      if (name == "flow_sources") {
        // Named by their text's hash: one the target has is the same source (merge).
        conn.exec("CREATE TEMP TABLE spokeflow_copy_sources(hash TEXT, source TEXT) ON COMMIT DROP");
        stream_table(src, conn, t, "spokeflow_copy_sources", no_change);
        rows = conn.exec("INSERT INTO flow_sources(hash, source) SELECT hash, source FROM spokeflow_copy_sources "
                         "ON CONFLICT(hash) DO NOTHING")
                   .affected();
      } else if (name == "executions") {
        const auto status = column_index(t, "status"), parent = column_index(t, "parent_id"),
                   owner = column_index(t, "lease_owner"), until = column_index(t, "lease_until");
        rows = stream_table(src, conn, t, name, [&](Row& row) {
          if (row[status] == "running" && !row[parent]) {
            // Its lease belongs to a process writing to SQLite: here it is expired and no one's.
            row[owner].reset();
            row[until] = "0";
            ++report.leases_released;
          }
        });
      } else if (name == "step_runs") {
        const auto seq = column_index(t, "seq");
        rows = stream_table(src, conn, t, name, [&](Row& row) {
          if (seq_offset && row[seq]) row[seq] = std::to_string(std::stoll(*row[seq]) + seq_offset);
        });
      } else {
        rows = stream_table(src, conn, t, name, no_change);
      }
      report.rows.emplace_back(name, rows);
    }
    // New step runs are numbered after the copied ones.
    conn.exec("SELECT setval(pg_get_serial_sequence('step_runs', 'seq'), max(seq)) FROM step_runs HAVING max(seq) IS NOT NULL");
    if (conn.exec("COMMIT").command_status() != "COMMIT")
      throw std::runtime_error("store " + conn.where() + ": the copy's transaction was rolled back by the server");
  } catch (...) {
    try {
      if (conn.ok() && conn.in_transaction()) conn.exec("ROLLBACK");
    } catch (const std::exception&) {
      // The first failure is the one worth reporting; an open transaction dies with the connection.
    }
    throw;
  }
  return report;
}

}  // namespace spokeflow::store
