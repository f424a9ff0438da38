// Retention for the PostgreSQL store: the statements of the shared purge (purge.hpp). Other
// processes keep writing meanwhile, so what a batch deletes is locked first: its roots (a
// concurrent `executions retry` waits, then finds them gone) and each flow source before it
// is found unused (an execution inserted meanwhile either is seen, or fails its foreign key and
// writes the source again: pg_store.cpp).
#include "store/pg_purge.hpp"

#include "common/json_text.hpp"
#include "store/purge.hpp"

namespace spokeflow::store::pg {
namespace {

constexpr const char* kFinished = "status IN ('succeeded', 'failed', 'cancelled')";
// Whether a row is a root the filter chooses: $1 status, $2 finished before, $3 flows left out (JSON).
const std::string kMatches = std::string("parent_id IS NULL AND ") + kFinished +
                             " AND ($1::text = '' OR status = $1) AND ($2::bigint = 0 OR finished_at < $2) "
                             "AND flow_name NOT IN (SELECT json_array_elements_text($3::json))";

class PgPurge final : public PurgeSql {
 public:
  explicit PgPurge(Conn& c) : c_(c) {}

  void scan(const PurgeFilter& f, const std::string& after, int limit,
            const std::function<bool(const std::string&, bool)>& row) override {
    // One flow: through its index; else in id order. $4 the cursor, $5 the limit, $6 the flow.
    Params p = filter_params(f);
    p.add(after).add(static_cast<std::int64_t>(limit));
    if (!f.flow.empty()) p.add(f.flow);
    Result r = c_.exec("SELECT id, " + kMatches + " FROM executions WHERE " + (f.flow.empty() ? "" : "flow_name = $6 AND ") +
                           "id > $4 ORDER BY id LIMIT $5",
                       p);
    for (int i = 0; i < r.rows(); ++i)
      if (!row(r.text(i, 0), r.integer(i, 1) != 0)) break;
  }

  std::optional<std::string> flow_after(const std::string& after) override {
    Params p;
    p.add(after);
    Result r = c_.run("purge_flow_after", "SELECT min(flow_name) FROM executions WHERE flow_name > $1", p);
    if (r.is_null(0, 0)) return std::nullopt;
    return r.text(0, 0);
  }

  std::optional<std::string> keep_from(const std::string& flow, const std::string& status, int keep_last) override {
    Params p;
    p.add(flow).add(status).add(static_cast<std::int64_t>(keep_last - 1));
    Result r = c_.exec(std::string("SELECT id FROM executions WHERE flow_name = $1 AND parent_id IS NULL AND ") + kFinished +
                           " AND ($2::text = '' OR status = $2) ORDER BY id DESC LIMIT 1 OFFSET $3",
                       p);
    if (!r.rows()) return std::nullopt;
    return r.text(0, 0);
  }

  std::vector<std::string> older(const PurgeFilter& f, const std::string& flow, const std::string& below, int limit) override {
    Params p = filter_params(f);
    p.add(flow).add(below).add(static_cast<std::int64_t>(limit));
    return ids(c_.exec("SELECT id FROM executions WHERE " + kMatches + " AND flow_name = $4 AND id < $5 ORDER BY id LIMIT $6", p));
  }

  std::vector<std::string> lock_roots(std::vector<std::string> roots) override {
    if (roots.empty()) return roots;
    Params p;
    p.add(dump_json(Json(roots)));
    return ids(c_.exec(std::string("SELECT id FROM executions WHERE id IN (SELECT json_array_elements_text($1::json)) "
                                   "AND parent_id IS NULL AND ") +
                           kFinished + " ORDER BY id FOR UPDATE",
                       p));
  }

  std::vector<std::string> children(const std::string& id) override {
    Params p;
    p.add(id);
    return ids(c_.run("purge_children", "SELECT id FROM executions WHERE parent_id = $1", p));
  }

  std::optional<std::string> delete_execution(const std::string& id) override {
    Params p;
    p.add(id);
    c_.run("purge_steps", "DELETE FROM step_runs WHERE execution_id = $1", p);
    c_.run("purge_old_fires",
           "DELETE FROM schedule_fires f WHERE execution_id = $1 AND scheduled_at < "
           "(SELECT max(scheduled_at) FROM schedule_fires g WHERE g.flow = f.flow AND g.trigger = f.trigger)",
           p);
    c_.run("purge_last_fire", "UPDATE schedule_fires SET execution_id = NULL WHERE execution_id = $1", p);
    Result r = c_.run("purge_execution", "DELETE FROM executions WHERE id = $1 RETURNING flow_hash", p);
    if (!r.rows()) return std::nullopt;
    return r.text(0, 0);
  }

  void delete_source_if_unused(const std::string& hash) override {
    Params p;
    p.add(hash);
    // Locked first: the check below then sees every execution committed before it.
    c_.run("purge_lock_source", "SELECT 1 FROM flow_sources WHERE hash = $1 FOR UPDATE", p);
    c_.run("purge_source",
           "DELETE FROM flow_sources WHERE hash = $1 AND NOT EXISTS (SELECT 1 FROM executions WHERE flow_hash = $1)", p);
  }

  std::int64_t delete_deliveries(std::int64_t before, int limit) override {
    Params p;
    p.add(before).add(static_cast<std::int64_t>(limit));
    return c_.run("purge_deliveries",
                  "DELETE FROM hook_deliveries WHERE event_id IN (SELECT d.event_id FROM hook_deliveries d "
                  "WHERE d.received_at < $1 AND NOT EXISTS (SELECT 1 FROM json_array_elements(d.started::json) j "
                  "JOIN executions e ON e.id = j.value ->> 'execution') LIMIT $2)",
                  p)
        .affected();
  }

 private:
  static Params filter_params(const PurgeFilter& f) {
    Params p;
    p.add(f.status).add(f.finished_before).add(dump_json(Json(f.except_flows)));
    return p;
  }
  static std::vector<std::string> ids(const Result& r) {
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
    return out;
  }

  Conn& c_;
};

}  // namespace

PurgeResult purge_batch(Conn& conn, const PurgeFilter& filter, int batch) {
  PgPurge sql(conn);
  return store::purge_batch(sql, filter, batch);
}

}  // namespace spokeflow::store::pg
