#include "store/pg_reads.hpp"

namespace spokeflow::store::pg {
namespace {

// The columns read_exec reads, the flow source fifth ('' in light rows).
std::string exec_select(bool light) {
  static const std::string before = "SELECT e.id, e.flow_name, e.flow_file, e.flow_hash, ";
  static const std::string after =
      ", e.inputs, e.status, e.trigger, e.created_at, e.started_at, e.finished_at, e.outputs, e.error, e.parent_id, "
      "e.parent_step, e.run_at, e.dedupe_key, e.lease_owner, e.lease_until, e.epoch, e.strikes, e.cancel_requested, "
      "e.retried_at FROM executions e";
  return light ? before + "''" + after : before + "src.source" + after + " JOIN flow_sources src ON src.hash = e.flow_hash";
}

ExecutionRecord read_exec(const Result& s, int i) {
  ExecutionRecord r;
  r.id = s.text(i, 0);
  r.flow_name = s.text(i, 1);
  r.flow_file = s.text(i, 2);
  r.flow_hash = s.text(i, 3);
  r.flow_source = s.text(i, 4);
  r.inputs = s.json(i, 5);
  r.status = s.text(i, 6);
  r.trigger = s.json(i, 7);
  r.created_at = s.integer(i, 8);
  r.started_at = s.integer(i, 9);
  r.finished_at = s.integer(i, 10);
  r.outputs = s.json(i, 11);
  r.error = s.json(i, 12);
  r.parent_id = s.text(i, 13);
  r.parent_step = s.text(i, 14);
  r.run_at = s.integer(i, 15);
  r.dedupe_key = s.text(i, 16);
  r.lease_owner = s.text(i, 17);
  r.lease_until = s.integer(i, 18);
  r.epoch = s.integer(i, 19);
  r.strikes = static_cast<int>(s.integer(i, 20));
  r.cancel_requested = s.integer(i, 21) != 0;
  r.retried_at = s.integer(i, 22);
  return r;
}

constexpr const char* kStepColumns =
    "SELECT path, attempt, kind, status, inputs, outputs, error, started_at, finished_at, client "
    "FROM step_runs WHERE execution_id = $1";

std::vector<StepRun> step_rows(const std::string& execution_id, const Result& r) {
  std::vector<StepRun> out;
  for (int i = 0; i < r.rows(); ++i) {
    StepRun s;
    s.execution_id = execution_id;
    s.path = r.text(i, 0);
    s.attempt = static_cast<int>(r.integer(i, 1));
    s.kind = r.text(i, 2);
    s.status = r.text(i, 3);
    s.inputs = r.json(i, 4);
    s.outputs = r.json(i, 5);
    s.error = r.json(i, 6);
    s.started_at = r.integer(i, 7);
    s.finished_at = r.integer(i, 8);
    s.client = r.json(i, 9);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

std::optional<ExecutionRecord> get_execution(Conn& c, const std::string& id) {
  static const std::string sql = exec_select(false) + " WHERE e.id = $1";
  Params p;
  p.add(id);
  Result r = c.run("get_execution", sql.c_str(), p);
  std::optional<ExecutionRecord> out;
  if (r.rows()) out = read_exec(r, 0);
  return out;
}

std::vector<ExecutionRecord> list_executions(Conn& c, const ExecutionFilter& f) {
  std::string sql = exec_select(f.light) + " WHERE ($1::text = '' OR e.flow_name = $1) AND ($2::text = '' OR e.status = $2)";
  Params p;
  p.add(f.flow).add(f.status).add(static_cast<std::int64_t>(f.limit));
  int n = 3;
  auto next = [&n] { return "$" + std::to_string(++n); };
  if (f.top_level_only) sql += " AND e.parent_id IS NULL";
  if (!f.before_id.empty()) {
    sql += " AND e.id < " + next();
    p.add(f.before_id);
  }
  if (!f.trigger_type.empty()) {
    sql += " AND (e.trigger::json ->> 'type') = " + next();
    p.add(f.trigger_type);
  }
  if (f.created_since > 0) {
    sql += " AND e.created_at >= " + next();
    p.add(f.created_since);
  }
  if (f.created_until > 0) {
    sql += " AND e.created_at < " + next();
    p.add(f.created_until);
  }
  if (!f.search.empty()) {
    const std::string q = next();
    sql += " AND (e.id ILIKE " + q + " || '%' OR EXISTS (SELECT 1 FROM jsonb_path_query(e.inputs::jsonb - '$sealed', "
           "'strict $.** ? (@.type() == \"string\")') AS v(x) WHERE (v.x #>> '{}') ILIKE '%' || " + q + " || '%'))";
    p.add(like_escaped(f.search));
  }
  sql += " ORDER BY e.id DESC LIMIT $3";
  Result r = c.exec(sql, p);
  std::vector<ExecutionRecord> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(read_exec(r, i));
  return out;
}

std::vector<StepRun> step_runs(Conn& c, const std::string& execution_id) {
  Params p;
  p.add(execution_id);
  return step_rows(execution_id, c.run("step_runs", (std::string(kStepColumns) + " ORDER BY seq").c_str(), p));
}

StepRunPage step_run_page(Conn& c, const std::string& execution_id, std::size_t offset, std::size_t limit) {
  Params p;
  p.add(execution_id).add(static_cast<std::int64_t>(limit)).add(static_cast<std::int64_t>(offset));
  StepRunPage page;
  page.runs = step_rows(execution_id,
                        c.run("step_run_page", (std::string(kStepColumns) + " ORDER BY seq LIMIT $2 OFFSET $3").c_str(), p));
  Params n;
  n.add(execution_id);
  Result count = c.run("step_run_count", "SELECT count(*) FROM step_runs WHERE execution_id = $1", n);
  page.total = count.rows() ? static_cast<std::size_t>(count.integer(0, 0)) : 0;
  return page;
}

}  // namespace spokeflow::store::pg
