#!/usr/bin/env bash
# The executions list the web view opens on, with many executions in an SQLite store: the
# server time of its first page, filtered pages, a deep cursor page and a search (issue 20's
# target: the first page under 50 ms with 100,000 executions).
#   bash tests/bench/executions_list_bench.sh [N]       (N executions, default 100000)
# SPOKEFLOW: the binary (default build/release's; tests/bench/run.sh builds it). The store is
# made from one real execution, copied N times by SQL with its own ids, flows (3), statuses
# (1 in 10 failed), inputs and times, and a step run each.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}
SPOKEFLOW=${SPOKEFLOW:-$PWD/build/release/engine/cli/spokeflow}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/spokeflow-list-bench.XXXXXX")
SERVE_PID=
trap '[ -n "$SERVE_PID" ] && kill $SERVE_PID 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK"
mkdir flows
for f in hello onboard offboard; do
  printf 'name: %s\ninputs:\n  who: { type: string, required: true }\nsteps:\n  - id: greet\n    action: core.echo\n    with: { greeting: "${{ inputs.who }}" }\n' "$f" > "flows/$f.yaml"
done
export SPOKEFLOW_STORE="$WORK/store.db"
"$SPOKEFLOW" run hello --flows-dir flows --input who=template > /dev/null
cols=$(sqlite3 store.db "SELECT group_concat(name, ',') FROM pragma_table_info('executions')")
sel=$(echo "$cols" | sed -E "s/(^|,)id(,|$)/\1printf('01KT%022d', i)\2/;
  s/(^|,)flow_name(,|$)/\1(CASE i % 3 WHEN 0 THEN 'hello' WHEN 1 THEN 'onboard' ELSE 'offboard' END)\2/;
  s/(^|,)status(,|$)/\1(CASE WHEN i % 10 = 0 THEN 'failed' ELSE 'succeeded' END)\2/;
  s/(^|,)inputs(,|$)/\1json_object('who', 'user' || i || '@example.com')\2/;
  s/(^|,)created_at(,|$)/\1(1780000000000 + i * 1000)\2/")
scols=$(sqlite3 store.db "SELECT group_concat(name, ',') FROM pragma_table_info('step_runs')")
ssel=$(echo "$scols" | sed -E "s/(^|,)execution_id(,|$)/\1printf('01KT%022d', i)\2/; s/(^|,)seq(,|$)/\1NULL\2/")
t0=$(date +%s)
sqlite3 store.db "PRAGMA journal_mode=WAL; BEGIN;
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
  INSERT INTO executions ($cols) SELECT $sel FROM n, (SELECT * FROM executions LIMIT 1);
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
  INSERT INTO step_runs ($scols) SELECT $ssel FROM n, (SELECT * FROM step_runs LIMIT 1);
  COMMIT;" > /dev/null
echo "store: $(sqlite3 store.db 'SELECT count(*) FROM executions') executions, $(( $(stat -c %s store.db) / 1048576 )) MB, made in $(( $(date +%s) - t0 )) s"
TOKEN=$("$SPOKEFLOW" tokens create bench --role viewer | tail -1)
"$SPOKEFLOW" serve --listen 127.0.0.1:0 --flows-dir flows > serve.out 2> serve.err &
SERVE_PID=$!
for _ in $(seq 1 200); do grep -q '^listening on ' serve.out && break; sleep 0.05; done
API=$(sed -n 's/^listening on //p' serve.out)
# measure NAME PATH: 30 requests after 3 unmeasured; the median and the slowest (curl's total:
# loopback, so it is the server's time).
measure() {
  local name=$1 path=$2 times
  for _ in 1 2 3; do curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" "$API$path"; done
  times=$(for _ in $(seq 1 30); do
    curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" "$API$path"
  done | sort -n)
  local rows=$(curl -s -H "Authorization: Bearer $TOKEN" "$API$path" | jq '.executions | length')
  printf '| %s | %s | %.1f ms | %.1f ms |\n' "$name" "$rows" \
    "$(echo "$times" | sed -n 15p | awk '{print $1 * 1000}')" "$(echo "$times" | tail -1 | awk '{print $1 * 1000}')"
}
deep=$(printf '01KT%022d' $((N / 2)))
echo "| request ($N executions) | rows | median | slowest of 30 |"
echo "| --- | --- | --- | --- |"
measure "first page (50)" "/api/v1/executions"
measure "first page (200)" "/api/v1/executions?limit=200"
measure "status=failed" "/api/v1/executions?status=failed"
measure "flow=onboard" "/api/v1/executions?flow=onboard"
measure "cursor half-way" "/api/v1/executions?cursor=$deep"
measure "since one hour before the newest" "/api/v1/executions?since=$(date -u -d @$(( (1780000000000 + N * 1000) / 1000 - 3600 )) +%Y-%m-%dT%H:%M:%SZ)"
measure "search: an input value (newest match)" "/api/v1/executions?q=user$((N - 5))@"
measure "search: an id's start" "/api/v1/executions?q=01KT$(printf '%022d' $((N / 3)) | cut -c1-18)"
measure "search matching nothing (reads every row)" "/api/v1/executions?q=nobody-at-all"
