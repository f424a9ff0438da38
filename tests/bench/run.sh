#!/usr/bin/env bash
# The benchmark suite: builds in Release, starts okta-sim, runs each benchmark and prints one
# Markdown table (also written to build/bench/results.md).
#   bash tests/bench/run.sh           quick: smaller counts, a 10 s rate-limit window
#   bash tests/bench/run.sh --full    the issue's sizes and Okta's 60 s window
#   ... --only "throughput pacing"     only these sections (engine, queue, throughput, postgresql, pacing,
#                                       streaming, serve)
# Not part of the test command. Each Okta workload is followed by the same workload through the
# Okta Node.js SDK (tests/bench/node, installed from npm on first use) against a fresh okta-sim
# with the same seed and config; its rows start with "Node SDK:". Without node/npm they say skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
FULL=0
ONLY=
while [ $# -gt 0 ]; do
  case "$1" in
    --full) FULL=1 ;;
    --only) ONLY=${2:?--only needs a list of sections}; shift ;;
    *) echo "usage: run.sh [--full] [--only \"engine queue throughput postgresql pacing streaming serve\"]" >&2; exit 2 ;;
  esac
  shift
done
want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
BUILD=${BUILD:-build/release}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSPOKEFLOW_TESTS=OFF > /dev/null
cmake --build "$BUILD" -j "$(nproc)" --target spokeflow okta-sim engine_bench queue_bench > /dev/null
SPOKEFLOW=$PWD/$BUILD/engine/cli/spokeflow
SIM=$PWD/$BUILD/tests/okta_sim/okta-sim
OUTDIR=build/bench
mkdir -p "$OUTDIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/spokeflow-bench.XXXXXX")
SIM_PID=
SERVE_PID=
PG_DIR=
trap '[ -n "$SERVE_PID" ] && kill $SERVE_PID 2>/dev/null; [ -n "$SIM_PID" ] && kill $SIM_PID 2>/dev/null; [ -z "$PG_DIR" ] || bash scripts/pg-cluster.sh stop "$PG_DIR"; rm -rf "$WORK"' EXIT
ROWS=()
row() { ROWS+=("| $1 | $2 | $3 |"); echo "  $1: $2 ($3)"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

if [ $FULL -eq 1 ]; then
  STEPS=100000; SMALL=5000; WAITING="10000 100000"; PARKED=1000000; EXECS=10000; STAGED=2000; WINDOW=60; LIMIT=600; STREAM=100000
  PGSTEPS=100000; CLAIMS=500
else
  STEPS=100000; SMALL=2000; WAITING="10000"; PARKED=100000; EXECS=1000; STAGED=300; WINDOW=10; LIMIT=100; STREAM=20000
  PGSTEPS=10000; CLAIMS=200
fi

if want engine; then
echo "# engine overhead"
line=$("$BUILD/tests/bench/engine_bench" steps $STEPS "$WORK/steps.db")
row "journaled core.noop steps ($STEPS in one for_each)" "$(echo "$line" | grep -oE '[0-9.]+ us/step' | head -1)" "target <= 20 us"
line=$("$BUILD/tests/bench/engine_bench" small $SMALL "$WORK/small.db")
row "three-step core.noop flow, sequential ($SMALL executions)" "$(echo "$line" | grep -oE '[0-9.]+ executions/s' | head -1)" "2 commits each: creation, result"
for n in $WAITING; do
  line=$("$BUILD/tests/bench/engine_bench" waiting $n "$WORK/wait-$n.db")
  row "RSS per waiting execution ($n waiting)" "$(echo "$line" | grep -oE '[0-9.]+ KB per waiting' | head -1)" "target <= 20 KB"
done
fi

if want queue; then
echo "# the work queue"
line=$("$BUILD/tests/bench/engine_bench" remote $STEPS "$WORK/remote.db")
row "journaled steps of an action that waits for its commit ($STEPS)" "$(echo "$line" | grep -oE '[0-9.]+ us/step' | head -1)" "each start committed before the call"
line=$("$BUILD/tests/bench/queue_bench" wake 10000 "$WORK/wake.db" 2>/dev/null | tail -1)
row "10,000 waits ending in the same instant" "$(echo "$line" | grep -oE 'lateness p50 [0-9]+ ms, p99 [0-9]+ ms' | head -1)" "target: all resumed within 2 s ($(echo "$line" | grep -oE '[0-9]+ within 2 s'))"
line=$("$BUILD/tests/bench/queue_bench" parked $PARKED "$WORK/parked.db" 2>/dev/null | tail -1)
row "worker RSS with $PARKED executions parked" "$(echo "$line" | grep -oE 'RSS [0-9]+ KB before, [0-9]+ KB after' | head -1)" "target: at most 64 MB more for 1,000,000"
fi

start_sim() {  # start_sim SEED CONFIG
  "$SIM" --port 0 --api-token bench-token-0123456789 --seed "$1" --config "$2" --log-level error > "$WORK/sim.out" &
  SIM_PID=$!
  for _ in $(seq 1 1200); do grep -q listening "$WORK/sim.out" 2>/dev/null && break; sleep 0.05; done
  BASE=$(sed -n 's/^listening on //p' "$WORK/sim.out")
  cat > "$WORK/connections.yaml" <<YAML
aliases: { okta: { connection: sim } }
connections: { sim: { base_url: "$BASE", credential: tok, allow_insecure_http: true, max_concurrency: 64 } }
credentials: { tok: { type: okta_api_token, token: { env: BENCH_OKTA_TOKEN } } }
YAML
}
stop_sim() { kill $SIM_PID 2>/dev/null || true; wait $SIM_PID 2>/dev/null || true; SIM_PID=; }
export BENCH_OKTA_TOKEN=bench-token-0123456789 SPOKEFLOW_CONNECTIONS=$WORK/connections.yaml

# The Node SDK baseline: install once (node_modules is kept between runs); any problem turns the
# baseline rows into "skipped" rows that say why, the spokeflow rows still run.
NODE_DIR=$PWD/tests/bench/node
NODE_SKIP=
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  NODE_SKIP="node or npm not found on PATH"
elif [ ! -d "$NODE_DIR/node_modules/@okta/okta-sdk-nodejs" ]; then
  echo "# installing the Okta Node.js SDK baseline into $NODE_DIR/node_modules"
  if ! (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error) > "$OUTDIR/npm-install.log" 2>&1; then
    NODE_SKIP="npm install failed, see $OUTDIR/npm-install.log"
  fi
fi
NODE_VERSIONS=
[ -z "$NODE_SKIP" ] && NODE_VERSIONS="@okta/okta-sdk-nodejs $(jq -r .version "$NODE_DIR/node_modules/@okta/okta-sdk-nodejs/package.json") on node $(node --version)"
ratio() { awk "BEGIN{ if ($2 > 0) printf \"spokeflow %.1fx\", $1/$2; else print \"no ratio\" }"; }  # ratio SPOKEFLOW_RATE NODE_RATE
node_baseline() {  # node_baseline MODE ARGS...: runs baseline.mjs against $BASE, sets NODE_OUT or NODE_ERR
  NODE_OUT=; NODE_ERR=
  if NODE_OUT=$(cd "$NODE_DIR" && node baseline.mjs "$1" "$BASE" "$BENCH_OKTA_TOKEN" "${@:2}" 2> "$WORK/node.err"); then
    return 0
  fi
  NODE_ERR="baseline.mjs failed: $(head -c 300 "$WORK/node.err" | tr '\n|' '  ')"
  return 1
}

UNLIMITED='rate_limits: { window_seconds: 60, concurrency: 100000, default: 100000000,
  buckets: { users: 100000000, user_get: 100000000, user: 100000000, groups: 100000000, apps: 100000000,
             logs: 100000000, event_hooks: 100000000, schemas: 100000000, oauth_token: 100000000, default: 100000000 } }'

# The create -> add to group -> activate flow of the throughput and serve sections.
write_onboard_flow() {  # write_onboard_flow DIR
  mkdir -p "$1"
  cat > "$1/bench_onboard.yaml" <<'YAML'
name: bench_onboard
inputs:
  n: { type: integer, required: true }
  group_id: { type: string, required: true }
steps:
  - id: create
    action: okta.create_user
    with: { profile: { login: "bench${{ inputs.n }}@example.com", email: "bench${{ inputs.n }}@example.com", firstName: B, lastName: "N${{ inputs.n }}" } }
  - id: add
    action: okta.add_user_to_group
    with: { user_id: "${{ steps.create.outputs.user_id }}", group_id: "${{ inputs.group_id }}" }
  # read_status: false -- the SDK script does not read the user back either: both make the same
  # three Okta calls per execution.
  - id: activate
    action: okta.activate_user
    with: { user_id: "${{ steps.create.outputs.user_id }}", send_email: false, read_status: false }
YAML
}

# onboard_run CONC STORE: $EXECS executions of bench_onboard, the subflows of one driver run at
# concurrency CONC, against a fresh okta-sim; sets SF_RATE (executions/s), SF_LAT ("p50 p99" ms),
# SF_CPU (us of CPU per execution) and SF_STATUS (the driver's).
onboard_run() {
  local conc=$1 gid ms
  start_sim "$WORK/seed.yaml" "$WORK/unlimited.yaml"
  gid=$(curl -s -H "Authorization: SSWS $BENCH_OKTA_TOKEN" "$BASE/api/v1/groups?q=Bench" | jq -r '.[0].id')
  cat > "$WORK/flows/bench_driver.yaml" <<YAML
name: bench_driver
inputs: { ns: { type: array, required: true } }
steps:
  - id: each
    for_each: \${{ inputs.ns }}
    concurrency: $conc
    steps:
      - id: one
        flow: bench_onboard
        with: { n: "\${{ item }}", group_id: "$gid" }
outputs: { failed: "\${{ steps.each.outputs.failed }}" }
YAML
  seq 1 $EXECS | jq -s '{ns: .}' > "$WORK/ns.json"
  export SPOKEFLOW_STORE=$2
  local t0=$(now_ms)
  /usr/bin/time -f "%U %S" -o "$WORK/cpu.txt" "$SPOKEFLOW" run bench_driver --flows-dir "$WORK/flows" --inputs-file "$WORK/ns.json" --json -q > "$WORK/tp.json"
  ms=$(( $(now_ms) - t0 ))
  stop_sim
  SF_LAT=$("$SPOKEFLOW" executions list --flow bench_onboard --limit $EXECS --json | jq -r '[.[].duration_ms] | sort | "\(.[(length*0.5|floor)]) \(.[(length*0.99|floor)])"')
  SF_CPU=$(awk '{printf "%.0f", ($1+$2)*1000000/'"$EXECS"'}' "$WORK/cpu.txt")
  SF_RATE=$(awk "BEGIN{printf \"%.0f\", $EXECS*1000/$ms}")
  SF_STATUS=$(jq -r .status "$WORK/tp.json")
}

if want throughput; then
echo "# Okta throughput: create -> add to group -> activate, rate limits off"
write_onboard_flow "$WORK/flows"
echo "groups: [{ name: Bench }]" > "$WORK/seed.yaml"
echo "$UNLIMITED" > "$WORK/unlimited.yaml"
for conc in 1 16 64; do
  onboard_run $conc "$WORK/tp-$conc.db"
  sf_rate=$SF_RATE
  row "executions/s at concurrency $conc ($EXECS executions, $SF_STATUS)" \
      "$sf_rate/s" "p50 ${SF_LAT% *} ms, p99 ${SF_LAT#* } ms, ${SF_CPU} us CPU per execution"
  if [ -n "$NODE_SKIP" ]; then
    row "Node SDK: executions/s at concurrency $conc" "skipped" "$NODE_SKIP"
    continue
  fi
  start_sim "$WORK/seed.yaml" "$WORK/unlimited.yaml"
  gid=$(curl -s -H "Authorization: SSWS $BENCH_OKTA_TOKEN" "$BASE/api/v1/groups?q=Bench" | jq -r '.[0].id')
  if node_baseline throughput "$gid" $EXECS $conc; then
    o=$NODE_OUT
    row "Node SDK: executions/s at concurrency $conc ($EXECS executions, $(jq -r .failed <<< "$o") failed)" \
        "$(jq -r '.per_s | round' <<< "$o")/s" \
        "$(jq -r '"p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, \(.cpu_us_per_exec) us CPU per execution"' <<< "$o"); $(ratio "$sf_rate" "$(jq -r .per_s <<< "$o")")"
  else
    row "Node SDK: executions/s at concurrency $conc" "failed" "$NODE_ERR"
  fi
  stop_sim
done
fi

if want postgresql; then
echo "# PostgreSQL beside SQLite (issue 19): journal cost, throughput, workers, claim latency"
# A throwaway cluster (scripts/pg-cluster.sh: fsync off, as in the tests), on the same two vCPUs.
PG_DIR=$(mktemp -u "${TMPDIR:-/tmp}/spokeflow-bench-pg.XXXXXX")
PG_URL=$(bash scripts/pg-cluster.sh start "$PG_DIR")
write_onboard_flow "$WORK/flows"
echo "groups: [{ name: Bench }]" > "$WORK/seed.yaml"
echo "$UNLIMITED" > "$WORK/unlimited.yaml"
store_sql() {  # store_sql STORE SQL: one query's rows, through the store's own client
  if [[ "$1" == postgresql://* ]]; then psql "$1" -tAqc "$2"; else sqlite3 "$1" "$2"; fi
}
store_label() { [[ "$1" == postgresql://* ]] && echo PostgreSQL || echo SQLite; }
for loc in "$WORK/journal.db" "$PG_URL"; do
  line=$("$BUILD/tests/bench/engine_bench" steps $PGSTEPS "$loc")
  row "$(store_label "$loc"): journaled core.noop steps ($PGSTEPS in one for_each)" "$(echo "$line" | grep -oE '[0-9.]+ us/step' | head -1)" "per-step journal cost, batched commits"
  line=$("$BUILD/tests/bench/engine_bench" remote $PGSTEPS "$loc")
  row "$(store_label "$loc"): journaled steps that wait for their commit ($PGSTEPS)" "$(echo "$line" | grep -oE '[0-9.]+ us/step' | head -1)" "each start committed before the call"
done
onboard_run 64 "$WORK/pg-cmp.db"
sqlite_rate=$SF_RATE
row "SQLite: executions/s at concurrency 64, one process ($EXECS executions, $SF_STATUS)" "$SF_RATE/s" "p50 ${SF_LAT% *} ms, p99 ${SF_LAT#* } ms, ${SF_CPU} us CPU per execution"
onboard_run 64 "$PG_URL"
row "PostgreSQL: executions/s at concurrency 64, one process ($EXECS executions, $SF_STATUS)" "$SF_RATE/s" \
    "p50 ${SF_LAT% *} ms, p99 ${SF_LAT#* } ms, ${SF_CPU} us CPU per execution; $(awk "BEGIN{printf \"%.2f\", $SF_RATE/$sqlite_rate}") of SQLite's (target >= 0.5)"
# workers_run STORE N: $EXECS executions queued (run --detach, not timed), then N worker processes
# (concurrency 64 each) started together; timed until every one has ended.
workers_run() {
  local store=$1 n=$2 gid t0 ms pids=() done_sql
  start_sim "$WORK/seed.yaml" "$WORK/unlimited.yaml"
  gid=$(curl -s -H "Authorization: SSWS $BENCH_OKTA_TOKEN" "$BASE/api/v1/groups?q=Bench" | jq -r '.[0].id')
  export SPOKEFLOW_STORE=$store
  done_sql="SELECT count(*) FROM executions WHERE flow_name = 'bench_onboard' AND status IN ('succeeded', 'failed')"
  "$SPOKEFLOW" executions list --limit 1 > /dev/null  # makes the store's tables when it is new
  local before=$(store_sql "$store" "$done_sql")
  seq 1 $EXECS | xargs -P 4 -I{} "$SPOKEFLOW" run bench_onboard --flows-dir "$WORK/flows" --detach \
    --input n={} --input group_id="$gid" > /dev/null
  t0=$(now_ms)
  for _ in $(seq 1 "$n"); do
    "$SPOKEFLOW" worker --flows-dir "$WORK/flows" --concurrency 64 -q > /dev/null 2> "$WORK/worker.err" &
    pids+=($!)
  done
  local deadline=$((SECONDS + 600))
  until [ "$(store_sql "$store" "$done_sql")" -ge $((before + EXECS)) ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
  ms=$(( $(now_ms) - t0 ))
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  stop_sim
  local failed=$(store_sql "$store" "SELECT count(*) FROM executions WHERE flow_name = 'bench_onboard' AND status = 'failed'")
  local ended=$(( $(store_sql "$store" "$done_sql") - before ))
  row "$(store_label "$store"): executions/s with $n worker process(es) ($EXECS queued; $ended ended, $failed failed in all)" \
      "$(awk "BEGIN{printf \"%.0f\", $ended*1000/$ms}")/s" "concurrency 64 each; $ended in $ms ms"
}
for n in 1 3; do
  workers_run "$WORK/workers.db" $n
  workers_run "$PG_URL" $n
done
# claim_latency STORE: one idle worker; $CLAIMS executions queued one at a time (run --detach,
# about 10 a second); from being queued to being claimed (created_at to started_at).
claim_latency() {
  local store=$1 gid wpid t_start
  start_sim "$WORK/seed.yaml" "$WORK/unlimited.yaml"
  gid=$(curl -s -H "Authorization: SSWS $BENCH_OKTA_TOKEN" "$BASE/api/v1/groups?q=Bench" | jq -r '.[0].id')
  export SPOKEFLOW_STORE=$store
  "$SPOKEFLOW" worker --flows-dir "$WORK/flows" --concurrency 64 -q > /dev/null 2> "$WORK/worker.err" &
  wpid=$!
  sleep 1
  t_start=$(now_ms)
  for i in $(seq 1 $CLAIMS); do
    "$SPOKEFLOW" run bench_onboard --flows-dir "$WORK/flows" --detach --input n=$((900000 + i)) --input group_id="$gid" > /dev/null
    sleep 0.05
  done
  local q="FROM executions WHERE flow_name = 'bench_onboard' AND created_at >= $t_start"
  local deadline=$((SECONDS + 120))
  until [ "$(store_sql "$store" "SELECT count(*) $q AND started_at IS NOT NULL AND started_at > 0")" -ge $CLAIMS ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
  kill -TERM $wpid 2>/dev/null || true
  wait $wpid 2>/dev/null || true
  stop_sim
  local lat=$(store_sql "$store" "SELECT started_at - created_at $q AND started_at > 0 ORDER BY 1" |
    awk '{v[NR] = $1} END {if (NR) {i = int(NR * 0.99) + 1; if (i > NR) i = NR; printf "p50 %d ms, p99 %d ms, max %d ms (%d claims)", v[int(NR * 0.5) + 1], v[i], v[NR], NR}}')
  row "$(store_label "$store"): claim latency, one idle worker" "$lat" "queued by another process, ~10/s; PostgreSQL wakes by NOTIFY, SQLite by polling"
}
claim_latency "$WORK/claims.db"
claim_latency "$PG_URL"
bash scripts/pg-cluster.sh stop "$PG_DIR"
PG_DIR=
fi

if want pacing; then
echo "# rate pacing: activations against a $LIMIT-per-${WINDOW}s bucket, concurrency cap 35"
python3 - "$STAGED" > "$WORK/staged.json" <<'PY'
import json, sys
n = int(sys.argv[1])
print(json.dumps({"users": [{"login": f"staged{i:05d}@example.com", "status": "STAGED"} for i in range(n)]}))
PY
cat > "$WORK/paced.yaml" <<YAML
rate_limits: { window_seconds: $WINDOW, concurrency: 35, default: 100000000,
  buckets: { users: 100000000, user_get: 100000000, user: $LIMIT, groups: 100000000, apps: 100000000,
             logs: 100000000, event_hooks: 100000000, schemas: 100000000, oauth_token: 100000000, default: 100000000 } }
YAML
start_sim "$WORK/staged.json" "$WORK/paced.yaml"
sed -i 's/max_concurrency: 64/max_concurrency: 35/' "$WORK/connections.yaml"
cat > "$WORK/activate_all.yaml" <<'YAML'
name: activate_all
steps:
  - id: each
    for_each: { action: okta.list_users, with: { search: "status eq \"STAGED\"" } }
    as: user
    concurrency: 35
    steps:
      - id: activate
        action: okta.activate_user
        with: { user_id: "${{ user.id }}", send_email: false, read_status: false }  # one call, as the SDK
outputs: { count: "${{ steps.each.outputs.count }}", failed: "${{ steps.each.outputs.failed }}" }
YAML
export SPOKEFLOW_STORE=$WORK/paced.db
curl -s -X DELETE "$BASE/__sim/requests" > /dev/null
t0=$(now_ms)
"$SPOKEFLOW" run "$WORK/activate_all.yaml" --json -q > "$WORK/paced.json"
ms=$(( $(now_ms) - t0 ))
n429=$(curl -s "$BASE/__sim/requests" | jq '[.. | objects | select(has("status") and has("target")) | select(.status == 429)] | length')
stop_sim
sf_rate=$(awk "BEGIN{printf \"%.1f\", $STAGED*1000/$ms}")
row "activations paced ($STAGED; $(jq -r '"\(.outputs.count) done, \(.outputs.failed) failed"' "$WORK/paced.json"))" \
    "$sf_rate/s, $n429 x 429" \
    "limit $LIMIT per ${WINDOW}s; $STAGED in $ms ms"
if [ -n "$NODE_SKIP" ]; then
  row "Node SDK: activations paced ($STAGED)" "skipped" "$NODE_SKIP"
else
  # Same staged seed and limits, fresh sim (fresh rate windows); 35 activations in flight, the
  # SDK's default 429 handling (wait for X-Rate-Limit-Reset + 1 s, at most 2 retries).
  start_sim "$WORK/staged.json" "$WORK/paced.yaml"
  curl -s -X DELETE "$BASE/__sim/requests" > /dev/null
  if node_baseline pacing 35; then
    o=$NODE_OUT
    n429=$(curl -s "$BASE/__sim/requests" | jq '[.. | objects | select(has("status") and has("target")) | select(.status == 429)] | length')
    row "Node SDK: activations paced ($STAGED; $(jq -r '"\(.n - .failed) done, \(.failed) failed"' <<< "$o"))" \
        "$(jq -r .per_s <<< "$o")/s, $n429 x 429" \
        "limit $LIMIT per ${WINDOW}s; $(jq -r .n <<< "$o") in $(jq -r .ms <<< "$o") ms; $(ratio "$sf_rate" "$(jq -r .per_s <<< "$o")")"
  else
    row "Node SDK: activations paced ($STAGED)" "failed" "$NODE_ERR"
  fi
  stop_sim
fi
fi

if want serve; then
echo "# serve: durable triggers over HTTP, ?wait, event hooks, idle RSS (wrk)"
if ! command -v wrk > /dev/null || ! command -v sqlite3 > /dev/null; then
  row "serve benchmarks" "skipped" "wrk or sqlite3 not found (Debian: apt-get install wrk sqlite3)"
else
  mkdir -p "$WORK/serve_flows"
  cat > "$WORK/serve_flows/bench_noop.yaml" <<'YAML'
name: bench_noop
steps:
  - id: one
    action: core.noop
YAML
  cat > "$WORK/serve_flows/bench_event.yaml" <<'YAML'
name: bench_event
triggers:
  - okta_event: user.session.start
steps:
  - id: note
    action: core.echo
    with: { uuid: "${{ event.uuid }}" }
YAML
  write_onboard_flow "$WORK/serve_flows"
  echo "groups: [{ name: Bench }]" > "$WORK/seed.yaml"
  echo "$UNLIMITED" > "$WORK/unlimited.yaml"
  start_sim "$WORK/seed.yaml" "$WORK/unlimited.yaml"
  gid=$(curl -s -H "Authorization: SSWS $BENCH_OKTA_TOKEN" "$BASE/api/v1/groups?q=Bench" | jq -r '.[0].id')
  export SPOKEFLOW_STORE=$WORK/serve.db BENCH_HOOK_SECRET="bench-hook-secret-0123456789"
  sf_token=$("$SPOKEFLOW" tokens create bench --role operator | tail -1)
  cat > "$WORK/serve.yaml" <<YAML
listen: 127.0.0.1:0
flows_dir: $WORK/serve_flows
worker: { concurrency: 64 }
limits: { max_connections: 1024, max_wait: 60s }
hooks:
  bench: { authorization: { env: BENCH_HOOK_SECRET } }
YAML
  "$SPOKEFLOW" serve --config "$WORK/serve.yaml" --log-level warn > "$WORK/serve.out" 2> "$WORK/serve.err" &
  SERVE_PID=$!
  for _ in $(seq 1 600); do grep -q '^listening' "$WORK/serve.out" 2>/dev/null && break; sleep 0.05; done
  API=$(sed -n 's/^listening on //p' "$WORK/serve.out")
  sleep 3
  row "serve idle RSS" "$(awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$SERVE_PID/status)" "target < 20 MB; 3 flows loaded, worker and scheduler idle"
  wrk_stat() { grep -oE "^$1.*" "$WORK/wrk.out" | head -1; }
  count_done() { sqlite3 "$SPOKEFLOW_STORE" "select count(*) from executions where flow_name = '$1' and status in ('succeeded','failed','cancelled')"; }
  count_all() { sqlite3 "$SPOKEFLOW_STORE" "select count(*) from executions where flow_name = '$1'"; }

  t0=$(now_ms)
  wrk -t2 -c64 -d10s -s tests/bench/wrk/trigger.lua "$API/api/v1/flows/bench_noop/executions" -- "$sf_token" > "$WORK/wrk.out"
  t_sent=$(now_ms)
  accepted=$(grep -oE '202=[0-9]+' "$WORK/wrk.out" | cut -d= -f2 || true); accepted=${accepted:-0}
  row "durable triggers accepted over HTTP (one-step flow; wrk 2 threads, 64 connections, 10 s)" \
      "$(awk "BEGIN{printf \"%.0f/s\", $accepted*1000/($t_sent-$t0)}")" \
      "target >= 5,000/s; $(wrk_stat statuses); answer $(wrk_stat 'latency p50'), $(wrk_stat 'latency p99'); the worker runs them meanwhile"
  total=$(count_all bench_noop)
  for _ in $(seq 1 1200); do [ "$(count_done bench_noop)" -ge "$total" ] && break; sleep 0.25; done
  t_done=$(now_ms)
  row "executions completed by serve's worker (concurrency 64)" "$(awk "BEGIN{printf \"%.0f/s\", $(count_done bench_noop)*1000/($t_done-$t0)}")" \
      "$(count_done bench_noop) of $total done $(( (t_done - t_sent) / 1000 )) s after the last trigger"

  wrk -t1 -c8 -d15s --timeout 60s -s tests/bench/wrk/trigger.lua "$API/api/v1/flows/bench_onboard/executions?wait=30s" -- "$sf_token" onboard "$gid" > "$WORK/wrk.out"
  row "?wait=30s answer time, create -> add to group -> activate against okta-sim (8 callers, 15 s)" \
      "$(wrk_stat 'latency p50'), $(wrk_stat 'latency p99')" "$(wrk_stat statuses) (200: ended within the wait); $(wrk_stat Requests/sec)"

  wrk -t2 -c16 -d10s -s tests/bench/wrk/hook.lua "$API/hooks/okta/bench" -- "$BENCH_HOOK_SECRET" 10 0 fast > "$WORK/wrk.out"
  rate=$(wrk_stat Requests/sec | grep -oE '[0-9.]+$')
  row "event-hook deliveries of 10 events, as fast as they are answered (16 connections)" \
      "$(awk "BEGIN{printf \"%.0f deliveries/s (%.0f events/s)\", $rate, $rate*10}")" "$(wrk_stat 'latency p50'), $(wrk_stat 'latency p99'); $(wrk_stat statuses)"
  wrk -t2 -c10 -d15s -s tests/bench/wrk/hook.lua "$API/hooks/okta/bench" -- "$BENCH_HOOK_SECRET" 10 95 paced > "$WORK/wrk.out"
  rate=$(wrk_stat Requests/sec | grep -oE '[0-9.]+$')
  row "event-hook answer time at about 1,000 events/s (10 connections, a delivery of 10 every ~100 ms each)" \
      "$(wrk_stat 'latency p99' | sed 's/latency //')" \
      "target p99 < 50 ms; $(awk "BEGIN{printf \"%.0f events/s\", $rate*10}"), $(wrk_stat 'latency p50'); $(wrk_stat statuses)"
  total=$(count_all bench_event)
  for _ in $(seq 1 1200); do [ "$(count_done bench_event)" -ge "$total" ] && break; sleep 0.25; done
  row "executions started by those events" "$(count_done bench_event) done of $total" "one per event uuid"
  kill -TERM $SERVE_PID; wait $SERVE_PID 2>/dev/null || true; SERVE_PID=
  stop_sim
  unset SPOKEFLOW_STORE
fi
fi

if want streaming; then
echo "# streaming okta.list_users"
line=$(BUILD=$BUILD bash tests/bench/okta_stream_bench.sh $STREAM 8 | tail -1)
row "okta.list_users as a for_each source ($STREAM users)" "$(echo "$line" | grep -oE 'users/s: [0-9]+' )" "$(echo "$line" | grep -oE 'peak RSS: [0-9]+ MB')"
fi

{
  echo "# spokeflow benchmarks ($( [ $FULL -eq 1 ] && echo full || echo quick ))"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -m); \`bash tests/bench/run.sh$( [ $FULL -eq 1 ] && echo ' --full')$( [ -n "$ONLY" ] && echo " --only \"$ONLY\"")\`"
  echo
  echo "| benchmark | result | notes |"
  echo "| --- | --- | --- |"
  printf '%s\n' "${ROWS[@]}"
  echo
  if [ -n "$NODE_SKIP" ]; then
    echo "Okta Node.js SDK baseline: skipped ($NODE_SKIP)."
  else
    echo "Okta Node.js SDK baseline (\"Node SDK:\" rows): $NODE_VERSIONS, default client and 429 retry policy (maxRetries 2),"
    echo "each run against a fresh okta-sim with the same seed and config as the spokeflow row above it; \"spokeflow Nx\" is spokeflow's rate over the SDK's."
  fi
} > "$OUTDIR/results.md"
echo
cat "$OUTDIR/results.md"
