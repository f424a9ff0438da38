#!/usr/bin/env bash
# Retention (issue 18): `spokeflow executions purge` with its filters and counts, bad values
# refused, a purge beside a running flow that leaves it untouched, nothing left pointing at a
# deleted execution (sqlite3 over every table), and `retention:` in serve.yaml applied by serve.
# Executions are made old by moving their finish times back in the store (sqlite3).
source "$(dirname "$0")/lib.sh"
command -v sqlite3 > /dev/null || { echo "the sqlite3 command is needed (Debian package sqlite3)"; exit 1; }
SF="$SPOKEFLOW_TEST"
cd "$WORK"
DB="$SPOKEFLOW_STORE"
EFFECTS="$WORK/effects.txt"
q() { sqlite3 -cmd ".timeout 5000" "$DB" "$1"; }
DAY=86400000
count() { q "SELECT count(*) FROM executions WHERE $1"; }
age() { q "UPDATE executions SET finished_at = finished_at - $2 * $DAY, created_at = created_at - $2 * $DAY WHERE $1"; }

# Rows that point at something gone, in every table of the store; and no table unaccounted for.
check_no_orphans() {
  expect_eq "$1: the store's tables are all checked here" \
    "api_tokens executions flow_sources hook_deliveries schedule_fires step_runs ui_sessions" \
    "$(q "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name)")"
  expect_eq "$1: nothing orphaned" "0 0 0 0 0 0 0" "$(q "SELECT
    (SELECT count(*) FROM step_runs WHERE execution_id NOT IN (SELECT id FROM executions)),
    (SELECT count(*) FROM executions WHERE parent_id IS NOT NULL AND parent_id NOT IN (SELECT id FROM executions)),
    (SELECT count(*) FROM flow_sources WHERE hash NOT IN (SELECT flow_hash FROM executions)),
    (SELECT count(*) FROM schedule_fires WHERE execution_id IS NOT NULL AND execution_id NOT IN (SELECT id FROM executions)),
    (SELECT count(*) FROM hook_deliveries d, json_each(d.started) j
       WHERE json_extract(j.value, '$.execution') NOT IN (SELECT id FROM executions)),
    (SELECT count(*) FROM ui_sessions WHERE token_hash NOT IN (SELECT hash FROM api_tokens)),
    (SELECT count(*) FROM pragma_foreign_key_check)" | tr '|' ' ')"
}

echo "# some executions: 3 with a subflow each, 4 failed, 2 quick"
for i in 1 2 3; do "$SF" run crashy --flows-dir "$FLOWS" --input file="$EFFECTS" -q > /dev/null; done
for i in 1 2 3 4; do "$SF" run fails --flows-dir "$FLOWS" -q > /dev/null 2>&1 || true; done
for i in 1 2; do "$SF" run quick --flows-dir "$FLOWS" --input file="$EFFECTS" -q > /dev/null; done
expect_eq "recorded" "3 3 4 2" "$(count "flow_name = 'crashy'") $(count "flow_name = 'crashy_child'") $(count "flow_name = 'fails' AND status = 'failed'") $(count "flow_name = 'quick'")"
age "flow_name IN ('crashy', 'crashy_child')" 40
age "id IN (SELECT id FROM executions WHERE flow_name = 'fails' ORDER BY id LIMIT 2)" 35
age "id IN (SELECT id FROM executions WHERE flow_name = 'quick' ORDER BY id LIMIT 1)" 31
STEPS_BEFORE=$(q "SELECT count(*) FROM step_runs")

echo "# bad values: exit 2, saying what is wrong"
run_capture "$SF" executions purge --older-than abc
expect_eq "--older-than abc" "2" "$RC"
expect_contains "...says so" "--older-than 'abc' is not a duration" "$OUT"
run_capture "$SF" executions purge --older-than 30x
expect_contains "--older-than 30x" "--older-than '30x' is not a duration" "$OUT"
run_capture "$SF" executions purge --older-than -5d
expect_eq "--older-than -5d" "2" "$RC"
run_capture "$SF" executions purge --older-than 30d --status running
expect_eq "--status running is not a finished status" "2" "$RC"
expect_contains "...says which are" "succeeded" "$OUT"
run_capture "$SF" executions purge
expect_eq "no bound at all" "2" "$RC"
expect_contains "...says what is needed" "--older-than DURATION and/or --keep-last N" "$OUT"
expect_eq "nothing was deleted by any of these" 12 "$(count 1)"

echo "# purges"
run_capture "$SF" executions purge --older-than 30d --flow quick
expect_eq "by flow" "0 purged 1 executions (1 top-level, 0 subflow)" "$RC $OUT"
expect_eq "...the recent one of that flow is kept" 1 "$(count "flow_name = 'quick'")"
run_capture "$SF" executions purge --older-than 30d --status failed
expect_eq "by status" "purged 2 executions (2 top-level, 0 subflow)" "$OUT"
run_capture "$SF" executions purge --older-than 30d
expect_eq "by age: the subflows' executions go with theirs" "purged 6 executions (3 top-level, 3 subflow)" "$OUT"
expect_eq "...and only those" "0 0 2 1" "$(count "flow_name = 'crashy'") $(count "flow_name = 'crashy_child'") $(count "flow_name = 'fails'") $(count "flow_name = 'quick'")"
run_capture "$SF" executions purge --keep-last 1 --flow fails --json
expect_eq "keep the last one" '{"purged":1,"top_level":1}' "$OUT"
expect_eq "...the newest is the one kept" "$(q "SELECT max(id) FROM executions WHERE flow_name = 'fails'")" \
  "$(q "SELECT id FROM executions WHERE flow_name = 'fails'")"
run_capture "$SF" executions purge --older-than 30d
expect_eq "again: nothing more" "purged 0 executions (0 top-level, 0 subflow)" "$OUT"
expect_eq "step runs went with their executions" 1 "$([ "$(q "SELECT count(*) FROM step_runs")" -lt "$STEPS_BEFORE" ] && echo 1)"
check_no_orphans "CLI purges"

echo "# a purge beside a running flow"
# 400 old finished executions (copies of a failed one, with its step runs), purged in batches of
# 5 while crashy runs 60 items with a step record each.
SRC=$(q "SELECT id FROM executions WHERE flow_name = 'fails'")
q "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
   INSERT INTO executions(id, flow_name, flow_file, flow_hash, inputs, status, trigger, created_at, started_at, finished_at, error)
   SELECT printf('00OLD%021d', i), flow_name, flow_file, flow_hash, inputs, status, trigger, created_at - 60 * $DAY,
          started_at - 60 * $DAY, finished_at - 60 * $DAY, error FROM executions, n WHERE id = '$SRC';
   INSERT INTO step_runs(execution_id, path, attempt, kind, status, inputs, outputs, error, started_at, finished_at)
   SELECT e.id, s.path, s.attempt, s.kind, s.status, s.inputs, s.outputs, s.error, s.started_at, s.finished_at
   FROM executions e, step_runs s WHERE e.id LIKE '00OLD%' AND s.execution_id = '$SRC';"
ITEMS=$(seq -s, 1 60)
: > "$EFFECTS"
"$SF" run crashy --flows-dir "$FLOWS" --input file="$EFFECTS" --input "items=[$ITEMS]" --json > running.json 2> running.err &
RUN_PID=$!
crashy_running() { [ "$(count "flow_name = 'crashy' AND status = 'running'")" = 1 ]; }
wait_for 60 crashy_running
run_capture "$SF" executions purge --older-than 30d --batch 5
expect_eq "the purge deleted the 400 old ones" "purged 400 executions (400 top-level, 0 subflow)" "$OUT"
set +e; wait "$RUN_PID"; rc=$?; set -e
expect_eq "the running flow went on to succeed" "0 succeeded" "$rc $(jq -r .status running.json)"
RID=$(jq -r .execution_id running.json)
# first + 60 items + the child's two + left + right + last
expect_eq "...with every side effect once" 66 "$(wc -l < "$EFFECTS")"
# first, 60 items and their for_each, pause, sub, left, right and their parallel, last
expect_eq "...its step runs are all there, succeeded" "68 68" \
  "$(q "SELECT count(*) FROM step_runs WHERE execution_id = '$RID'") $(q "SELECT count(*) FROM step_runs WHERE execution_id = '$RID' AND status = 'succeeded'")"
check_no_orphans "beside a running flow"

echo "# retention: in serve.yaml, applied by serve"
for i in 1 2 3 4 5; do "$SF" run quick --flows-dir "$FLOWS" --input file="$EFFECTS" -q > /dev/null; done
for i in 1 2 3; do "$SF" run fails --flows-dir "$FLOWS" -q > /dev/null 2>&1 || true; done
age "flow_name = 'crashy'" 10    # 10 days: kept (its rule is 30 days)
age "flow_name = 'crashy_child'" 10
# an unfinished one that is old: never touched
q "UPDATE executions SET status = 'waiting', run_at = finished_at + 365 * $DAY, finished_at = NULL
   WHERE id = (SELECT min(id) FROM executions WHERE flow_name = 'quick')"
age "flow_name = 'fails'" 3      # 3 days: over the 2 days of every other flow
printf 'retention:\n  max_age: 2x\n' > bad.yaml
run_capture "$SF" serve --config bad.yaml
expect_contains "a bad retention value: where and what" "bad.yaml:2:12: error: retention.max_age must be a duration" "$OUT"
printf 'retention:\n  interval: 1s\n' > empty.yaml
run_capture "$SF" serve --config empty.yaml
expect_contains "retention without a bound: where and what" "empty.yaml:2:3: error: retention needs max_age or keep_last" "$OUT"
cat > serve.yaml <<YAML
listen: 127.0.0.1:0
flows_dir: $FLOWS
retention:
  interval: 1s
  max_age: 2d
  batch: 2
  flows:
    quick: { keep_last: 3 }
    crashy: { max_age: 30d }
YAML
"$SF" serve --config serve.yaml --log-level info > serve.out 2> serve.err &
SERVE_PID=$!
trap 'kill "$SERVE_PID" 2>/dev/null || true; wait 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
wait_for 60 grep -q '^listening on ' serve.out || { echo "serve did not start"; cat serve.err; exit 1; }
retained() { [ "$(count "flow_name = 'fails'")" = 0 ] && [ "$(count "flow_name = 'quick' AND status = 'succeeded'")" = 3 ]; }
set +e; wait_for 60 retained; rc=$?; set -e
expect_eq "the old failed ones went; quick keeps its newest 3" 0 "$rc"
expect_eq "the waiting one is untouched" 1 "$(count "flow_name = 'quick' AND status = 'waiting'")"
expect_eq "crashy keeps its 10-day-old one (its own rule: 30 days)" "1 1" "$(count "flow_name = 'crashy'") $(count "flow_name = 'crashy_child'")"
set +e; wait_for 30 grep -q "retention: .* finished executions purged" serve.err; rc=$?; set -e
expect_eq "the service says what it purged" 0 "$rc"
kill -TERM "$SERVE_PID"
set +e; wait "$SERVE_PID"; rc=$?; set -e
expect_eq "serve exits 0" 0 "$rc"
check_no_orphans "serve's retention"
finish
