// Retention for the SQLite store: the statements of the shared purge (purge.hpp), run inside
// the store's (short) write transaction, which keeps every other writer out meanwhile.
#include "store/sqlite_purge.hpp"

#include "common/json_text.hpp"
#include "store/purge.hpp"
#include "store/sqlite_db.hpp"

namespace spokeflow::store::sqlite {
namespace {

constexpr const char* kFinished = "(status = 'succeeded' OR status = 'failed' OR status = 'cancelled')";
// Whether a row is a root the filter chooses: ?1 status, ?2 finished before, ?6 flows left out (JSON).
const std::string kMatches = std::string("parent_id IS NULL AND ") + kFinished +
                             " AND (?1 = '' OR status = ?1) AND (?2 = 0 OR finished_at < ?2) "
                             "AND flow_name NOT IN (SELECT value FROM json_each(?6))";

class SqlitePurge final : public PurgeSql {
 public:
  explicit SqlitePurge(sqlite3* db) : db_(db) {}

  void scan(const PurgeFilter& f, const std::string& after, int limit,
            const std::function<bool(const std::string&, bool)>& row) override {
    // One flow: through its index; else in id order.
    const std::string sql = "SELECT id, " + kMatches + " FROM executions WHERE " +
                            (f.flow.empty() ? "" : "flow_name = ?3 AND ") + "id > ?5 ORDER BY id LIMIT ?4";
    Statement s(db_, sql.c_str());
    bind_filter(s, f).bind(4, static_cast<std::int64_t>(limit)).bind(5, after);
    if (!f.flow.empty()) s.bind(3, f.flow);
    while (s.next()) {
      if (!row(s.text(0), s.integer(1) != 0)) {
        s.done();
        break;
      }
    }
  }

  std::optional<std::string> flow_after(const std::string& after) override {
    Statement s(db_, "SELECT min(flow_name) FROM executions WHERE flow_name > ?1");
    s.bind(1, after);
    std::optional<std::string> out;
    if (s.next() && !s.is_null(0)) out = s.text(0);
    s.done();
    return out;
  }

  std::optional<std::string> keep_from(const std::string& flow, const std::string& status, int keep_last) override {
    Statement s(db_, (std::string("SELECT id FROM executions WHERE flow_name = ?1 AND parent_id IS NULL AND ") + kFinished +
                      " AND (?2 = '' OR status = ?2) ORDER BY id DESC LIMIT 1 OFFSET ?3").c_str());
    s.bind(1, flow).bind(2, status).bind(3, static_cast<std::int64_t>(keep_last - 1));
    std::optional<std::string> out;
    if (s.next()) out = s.text(0);
    s.done();
    return out;
  }

  std::vector<std::string> older(const PurgeFilter& f, const std::string& flow, const std::string& below, int limit) override {
    Statement s(db_, ("SELECT id FROM executions WHERE " + kMatches + " AND flow_name = ?3 AND id < ?5 ORDER BY id LIMIT ?4").c_str());
    bind_filter(s, f).bind(3, flow).bind(4, static_cast<std::int64_t>(limit)).bind(5, below);
    std::vector<std::string> out;
    while (s.next()) out.push_back(s.text(0));
    return out;
  }

  // parent_id has no index (it would cost every subflow's insert); instead a parent's journal
  // names each child: the engine records the step run that names the child's id before it
  // creates the child's record.
  std::vector<std::string> children(const std::string& id) override {
    std::vector<std::string> named, out;
    named_.bind(1, id);
    while (named_.next()) named.push_back(named_.text(0));
    for (auto& n : named) {
      child_.bind(1, n).bind(2, id);
      if (child_.next()) out.push_back(std::move(n));
      child_.done();
    }
    return out;
  }

  std::optional<std::string> delete_execution(const std::string& id) override {
    std::optional<std::string> hash;
    hash_of_.bind(1, id);
    if (hash_of_.next()) hash = hash_of_.text(0);
    hash_of_.done();
    steps_.bind(1, id).run();
    old_fires_.bind(1, id).run();
    last_fire_.bind(1, id).run();
    exec_.bind(1, id).run();
    if (sqlite3_changes(db_) != 1) hash.reset();
    return hash;
  }

  void delete_source_if_unused(const std::string& hash) override { source_.bind(1, hash).run(); }

  std::int64_t delete_deliveries(std::int64_t before, int limit) override {
    Statement s(db_,
                "DELETE FROM hook_deliveries WHERE rowid IN (SELECT d.rowid FROM hook_deliveries d WHERE d.received_at < ?1 "
                "AND NOT EXISTS (SELECT 1 FROM json_each(d.started) j JOIN executions e "
                "ON e.id = json_extract(j.value, '$.execution')) LIMIT ?2)");
    s.bind(1, before).bind(2, static_cast<std::int64_t>(limit)).run();
    return sqlite3_changes(db_);
  }

 private:
  static Statement& bind_filter(Statement& s, const PurgeFilter& f) {
    return s.bind(1, f.status).bind(2, f.finished_before).bind(6, dump_json(Json(f.except_flows)));
  }

  sqlite3* db_;
  Statement named_{db_,
                   "SELECT DISTINCT json_extract(inputs, '$.execution_id') FROM step_runs WHERE execution_id = ?1 "
                   "AND json_valid(inputs) AND json_type(inputs, '$.execution_id') = 'text'"};
  Statement child_{db_, "SELECT 1 FROM executions WHERE id = ?1 AND parent_id = ?2"};
  Statement hash_of_{db_, "SELECT flow_hash FROM executions WHERE id = ?1"};
  Statement steps_{db_, "DELETE FROM step_runs WHERE execution_id = ?1"};
  Statement old_fires_{db_,
                       "DELETE FROM schedule_fires AS f WHERE execution_id = ?1 AND scheduled_at < "
                       "(SELECT max(scheduled_at) FROM schedule_fires g WHERE g.flow = f.flow AND g.trigger = f.trigger)"};
  Statement last_fire_{db_, "UPDATE schedule_fires SET execution_id = NULL WHERE execution_id = ?1"};
  Statement exec_{db_, "DELETE FROM executions WHERE id = ?1"};
  Statement source_{db_,
                    "DELETE FROM flow_sources WHERE hash = ?1 AND NOT EXISTS (SELECT 1 FROM executions WHERE flow_hash = ?1)"};
};

}  // namespace

PurgeResult purge_batch(sqlite3* db, const PurgeFilter& filter, int batch) {
  SqlitePurge sql(db);
  return store::purge_batch(sql, filter, batch);
}

}  // namespace spokeflow::store::sqlite
