#!/usr/bin/env bash
# The benchmark suite: builds in Release, starts okta-sim, runs each benchmark and prints one
# Markdown table (also written to build/bench/results.md).
#   bash tests/bench/run.sh           quick: smaller counts, a 10 s rate-limit window
#   bash tests/bench/run.sh --full    the issue's sizes and Okta's 60 s window
# Not part of the test command. Still missing: the Okta Node.js SDK baseline (issue 6).
set -euo pipefail
cd "$(dirname "$0")/../.."
FULL=0
[ "${1:-}" = "--full" ] && FULL=1
BUILD=${BUILD:-build/release}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSPOKEFLOW_TESTS=OFF > /dev/null
cmake --build "$BUILD" -j "$(nproc)" --target spokeflow okta-sim engine_bench > /dev/null
SPOKEFLOW=$PWD/$BUILD/engine/cli/spokeflow
SIM=$PWD/$BUILD/tests/okta_sim/okta-sim
OUTDIR=build/bench
mkdir -p "$OUTDIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/spokeflow-bench.XXXXXX")
SIM_PID=
trap '[ -n "$SIM_PID" ] && kill $SIM_PID 2>/dev/null; rm -rf "$WORK"' EXIT
ROWS=()
row() { ROWS+=("| $1 | $2 | $3 |"); echo "  $1: $2 ($3)"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

if [ $FULL -eq 1 ]; then
  STEPS=100000; SMALL=5000; WAITING="10000 100000"; EXECS=10000; STAGED=2000; WINDOW=60; LIMIT=600; STREAM=100000
else
  STEPS=100000; SMALL=2000; WAITING="10000"; EXECS=1000; STAGED=300; WINDOW=10; LIMIT=100; STREAM=20000
fi

echo "# engine overhead"
line=$("$BUILD/tests/bench/engine_bench" steps $STEPS "$WORK/steps.db")
row "journaled core.noop steps ($STEPS in one for_each)" "$(echo "$line" | grep -oE '[0-9.]+ us/step' | head -1)" "target <= 20 us"
line=$("$BUILD/tests/bench/engine_bench" small $SMALL "$WORK/small.db")
row "three-step core.noop flow, sequential ($SMALL executions)" "$(echo "$line" | grep -oE '[0-9.]+ executions/s' | head -1)" "3 durable commits each"
for n in $WAITING; do
  line=$("$BUILD/tests/bench/engine_bench" waiting $n "$WORK/wait-$n.db")
  row "RSS per waiting execution ($n waiting)" "$(echo "$line" | grep -oE '[0-9.]+ KB per waiting' | head -1)" "target <= 20 KB"
done

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
UNLIMITED='rate_limits: { window_seconds: 60, concurrency: 100000, default: 100000000,
  buckets: { users: 100000000, user_get: 100000000, user: 100000000, groups: 100000000, apps: 100000000,
             logs: 100000000, event_hooks: 100000000, schemas: 100000000, oauth_token: 100000000, default: 100000000 } }'

echo "# Okta throughput: create -> add to group -> activate, rate limits off"
mkdir -p "$WORK/flows"
cat > "$WORK/flows/bench_onboard.yaml" <<'YAML'
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
  - id: activate
    action: okta.activate_user
    with: { user_id: "${{ steps.create.outputs.user_id }}", send_email: false }
YAML
echo "groups: [{ name: Bench }]" > "$WORK/seed.yaml"
echo "$UNLIMITED" > "$WORK/unlimited.yaml"
for conc in 1 16 64; do
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
  export SPOKEFLOW_STORE=$WORK/tp-$conc.db
  t0=$(now_ms)
  /usr/bin/time -f "%U %S" -o "$WORK/cpu.txt" "$SPOKEFLOW" run bench_driver --flows-dir "$WORK/flows" --inputs-file "$WORK/ns.json" --json -q > "$WORK/tp.json"
  ms=$(( $(now_ms) - t0 ))
  stop_sim
  lat=$("$SPOKEFLOW" executions list --flow bench_onboard --limit $EXECS --json | jq -r '[.[].duration_ms] | sort | "\(.[(length*0.5|floor)]) \(.[(length*0.99|floor)])"')
  cpu=$(awk '{printf "%.0f", ($1+$2)*1000000/'"$EXECS"'}' "$WORK/cpu.txt")
  row "executions/s at concurrency $conc ($EXECS executions, $(jq -r .status "$WORK/tp.json"))" \
      "$(awk "BEGIN{printf \"%.0f\", $EXECS*1000/$ms}")/s" "p50 ${lat% *} ms, p99 ${lat#* } ms, ${cpu} us CPU per execution"
done

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
        with: { user_id: "${{ user.id }}", send_email: false }
outputs: { count: "${{ steps.each.outputs.count }}", failed: "${{ steps.each.outputs.failed }}" }
YAML
export SPOKEFLOW_STORE=$WORK/paced.db
curl -s -X DELETE "$BASE/__sim/requests" > /dev/null
t0=$(now_ms)
"$SPOKEFLOW" run "$WORK/activate_all.yaml" --json -q > "$WORK/paced.json"
ms=$(( $(now_ms) - t0 ))
n429=$(curl -s "$BASE/__sim/requests" | jq '[.. | objects | select(has("status") and has("target")) | select(.status == 429)] | length')
stop_sim
row "activations paced ($STAGED; $(jq -r '"\(.outputs.count) done, \(.outputs.failed) failed"' "$WORK/paced.json"))" \
    "$(awk "BEGIN{printf \"%.1f\", $STAGED*1000/$ms}")/s, $n429 x 429" \
    "limit $LIMIT per ${WINDOW}s; $STAGED in $ms ms"

echo "# streaming okta.list_users"
line=$(BUILD=$BUILD bash tests/bench/okta_stream_bench.sh $STREAM 8 | tail -1)
row "okta.list_users as a for_each source ($STREAM users)" "$(echo "$line" | grep -oE 'users/s: [0-9]+' )" "$(echo "$line" | grep -oE 'peak RSS: [0-9]+ MB')"

{
  echo "# spokeflow benchmarks ($( [ $FULL -eq 1 ] && echo full || echo quick ))"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -m); \`bash tests/bench/run.sh$( [ $FULL -eq 1 ] && echo ' --full')\`"
  echo
  echo "| benchmark | result | notes |"
  echo "| --- | --- | --- |"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "Okta Node.js SDK baseline: not measured yet."
} > "$OUTDIR/results.md"
echo
cat "$OUTDIR/results.md"
