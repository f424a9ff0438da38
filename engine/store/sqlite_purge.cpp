// Retention for the SQLite store: one batch of finished top-level executions deleted with
// everything that is theirs, inside the caller's (short) write transaction.
#include "store/sqlite_purge.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "common/json_text.hpp"
#include "store/sqlite_db.hpp"

namespace spokeflow::store::sqlite {
namespace {

constexpr const char* kFinished = "(status = 'succeeded' OR status = 'failed' OR status = 'cancelled')";

// At most this many rows are read in id order per batch (a pass with a cursor): a store where
// little matches is walked in many short transactions, never in one long one.
int rows_to_examine(int batch) { return std::max(batch * 10, 1000); }

// The roots of this batch: finished top-level executions matching `f`, oldest id first.
// `next`: where the next batch starts ("" = from the start again).
std::vector<std::string> choose_roots(sqlite3* db, const PurgeFilter& f, int batch, std::string& next, bool& more) {
  std::vector<std::string> out;
  const std::string except = dump_json(Json(f.except_flows));
  const std::string matches = std::string("parent_id IS NULL AND ") + kFinished +
                              " AND (?1 = '' OR status = ?1) AND (?2 = 0 OR finished_at < ?2) "
                              "AND flow_name NOT IN (SELECT value FROM json_each(?6))";
  const std::string base = "SELECT id FROM executions WHERE " + matches;
  auto read = [&](Statement& s) {
    while (s.next()) out.push_back(s.text(0));
  };
  if (f.keep_last <= 0) {
    // One flow: through its index; else in id order. Both from the cursor on, a bounded slice.
    const std::string sql = "SELECT id, " + matches + " FROM executions WHERE " +
                            (f.flow.empty() ? "" : "flow_name = ?3 AND ") + "id > ?5 ORDER BY id LIMIT ?4";
    Statement s(db, sql.c_str());
    s.bind(1, f.status).bind(2, f.finished_before).bind(4, static_cast<std::int64_t>(rows_to_examine(batch)))
        .bind(5, f.after).bind(6, except);
    if (!f.flow.empty()) s.bind(3, f.flow);
    int examined = 0;
    std::string last;
    while (s.next()) {
      ++examined;
      last = s.text(0);
      if (s.integer(1)) out.push_back(last);
      if (static_cast<int>(out.size()) >= batch) {
        s.done();
        break;
      }
    }
    more = static_cast<int>(out.size()) >= batch || examined >= rows_to_examine(batch);
    next = more ? last : std::string();
    return out;
  }
  // Per flow: what is older than its keep_last-th newest matching execution. The flows are
  // walked one index seek at a time (a DISTINCT would read the whole index).
  std::vector<std::string> flows;
  if (!f.flow.empty()) {
    flows.push_back(f.flow);
  } else {
    Statement next(db, "SELECT min(flow_name) FROM executions WHERE flow_name > ?1");
    std::string after;
    for (;;) {
      next.bind(1, after);
      if (!next.next() || next.is_null(0)) {
        next.done();
        break;
      }
      after = next.text(0);
      next.done();
      if (std::find(f.except_flows.begin(), f.except_flows.end(), after) == f.except_flows.end()) flows.push_back(after);
    }
  }
  Statement cutoff(db, (std::string("SELECT id FROM executions WHERE flow_name = ?1 AND parent_id IS NULL AND ") + kFinished +
                        " AND (?2 = '' OR status = ?2) ORDER BY id DESC LIMIT 1 OFFSET ?3").c_str());
  Statement older(db, (base + " AND flow_name = ?3 AND id < ?5 ORDER BY id LIMIT ?4").c_str());
  for (const auto& flow : flows) {
    if (static_cast<int>(out.size()) >= batch) break;
    cutoff.bind(1, flow).bind(2, f.status).bind(3, static_cast<std::int64_t>(f.keep_last - 1));
    if (!cutoff.next()) continue;  // no more than keep_last of them
    const std::string keep_from = cutoff.text(0);
    cutoff.done();
    older.bind(1, f.status).bind(2, f.finished_before).bind(3, flow)
        .bind(4, static_cast<std::int64_t>(batch - static_cast<int>(out.size()))).bind(5, keep_from).bind(6, except);
    read(older);
  }
  more = static_cast<int>(out.size()) >= batch;
  return out;
}

// The roots and every execution below them. parent_id has no index (it would cost every
// subflow's insert); instead a parent's journal names each child: the engine records the
// step run that names the child's id before it creates the child's record.
std::vector<std::string> with_descendants(sqlite3* db, std::vector<std::string> all) {
  Statement named(db,
                  "SELECT DISTINCT json_extract(inputs, '$.execution_id') FROM step_runs WHERE execution_id = ?1 "
                  "AND json_valid(inputs) AND json_type(inputs, '$.execution_id') = 'text'");
  Statement child(db, "SELECT 1 FROM executions WHERE id = ?1 AND parent_id = ?2");
  for (std::size_t i = 0; i < all.size(); ++i) {
    std::vector<std::string> ids;
    named.bind(1, all[i]);
    while (named.next()) ids.push_back(named.text(0));
    for (const auto& id : ids) {
      child.bind(1, id).bind(2, all[i]);
      if (child.next()) all.push_back(id);
      child.done();
    }
  }
  return all;
}

// Deliveries received before `before` whose executions are all gone (or that started none).
std::int64_t purge_deliveries(sqlite3* db, std::int64_t before, int batch) {
  Statement s(db,
              "DELETE FROM hook_deliveries WHERE rowid IN (SELECT d.rowid FROM hook_deliveries d WHERE d.received_at < ?1 "
              "AND NOT EXISTS (SELECT 1 FROM json_each(d.started) j JOIN executions e "
              "ON e.id = json_extract(j.value, '$.execution')) LIMIT ?2)");
  s.bind(1, before).bind(2, static_cast<std::int64_t>(batch)).run();
  return sqlite3_changes(db);
}

}  // namespace

PurgeResult purge_batch(sqlite3* db, const PurgeFilter& f, int batch) {
  PurgeResult out;
  batch = std::max(batch, 1);
  const auto roots = choose_roots(db, f, batch, out.next, out.more);
  out.top_level = static_cast<std::int64_t>(roots.size());
  if (!roots.empty()) {
    const auto ids = with_descendants(db, roots);
    std::set<std::string> hashes;
    Statement hash_of(db, "SELECT flow_hash FROM executions WHERE id = ?1");
    Statement steps(db, "DELETE FROM step_runs WHERE execution_id = ?1");
    // A schedule fire keeps its trigger's latest record (the scheduler counts from it) without
    // the execution; older ones go.
    Statement old_fires(db,
                        "DELETE FROM schedule_fires AS f WHERE execution_id = ?1 AND scheduled_at < "
                        "(SELECT max(scheduled_at) FROM schedule_fires g WHERE g.flow = f.flow AND g.trigger = f.trigger)");
    Statement last_fire(db, "UPDATE schedule_fires SET execution_id = NULL WHERE execution_id = ?1");
    Statement exec(db, "DELETE FROM executions WHERE id = ?1");
    for (const auto& id : ids) {
      hash_of.bind(1, id);
      if (hash_of.next()) hashes.insert(hash_of.text(0));
      hash_of.done();
      steps.bind(1, id).run();
      old_fires.bind(1, id).run();
      last_fire.bind(1, id).run();
      exec.bind(1, id).run();
      out.executions += sqlite3_changes(db);
    }
    Statement source(db,
                     "DELETE FROM flow_sources WHERE hash = ?1 AND NOT EXISTS (SELECT 1 FROM executions WHERE flow_hash = ?1)");
    for (const auto& h : hashes) source.bind(1, h).run();
  }
  // Deliveries once the executions are done: most name executions of this purge.
  if (!out.more && f.finished_before > 0 && purge_deliveries(db, f.finished_before, batch) >= batch) out.more = true;
  return out;
}

}  // namespace spokeflow::store::sqlite
