#!/usr/bin/env bash
# okta.list_users as a for_each source over N seeded users (default 100,000): users per second
# and the spokeflow process's peak RSS. Needs a Release build:
#   cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C build/release spokeflow okta-sim
#   bash tests/bench/okta_stream_bench.sh [N] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-100000}
CONC=${2:-8}
BUILD=${BUILD:-build/release}
SPOKEFLOW=$BUILD/engine/cli/spokeflow
SIM=$BUILD/tests/okta_sim/okta-sim
WORK=$(mktemp -d "${TMPDIR:-/tmp}/spokeflow-bench.XXXXXX")
trap 'kill ${SIM_PID:-0} 2>/dev/null || true; rm -rf "$WORK"' EXIT

python3 - "$N" > "$WORK/seed.json" <<'PY'
import json, sys
n = int(sys.argv[1])
users = [{"login": f"user{i:06d}@example.com", "firstName": "U", "lastName": f"N{i}", "password": "Bench-Passw0rd1"} for i in range(n)]
print(json.dumps({"users": users}))
PY
cat > "$WORK/config.yaml" <<'YAML'
rate_limits: { window_seconds: 60, concurrency: 1000, default: 100000000,
  buckets: { users: 100000000, user_get: 100000000, user: 100000000, groups: 100000000, apps: 100000000,
             logs: 100000000, event_hooks: 100000000, schemas: 100000000, oauth_token: 100000000, default: 100000000 } }
YAML
TOKEN=bench-token-0123456789
t0=$(date +%s.%N)
"$SIM" --port 0 --api-token "$TOKEN" --seed "$WORK/seed.json" --config "$WORK/config.yaml" --log-level error > "$WORK/sim.out" &
SIM_PID=$!
for _ in $(seq 1 1200); do grep -q listening "$WORK/sim.out" 2>/dev/null && break; sleep 0.05; done
BASE=$(sed -n 's/^listening on //p' "$WORK/sim.out")
echo "okta-sim seeded with $N users in $(echo "$(date +%s.%N) - $t0" | bc) s"

cat > "$WORK/connections.yaml" <<YAML
aliases: { okta: { connection: sim } }
connections: { sim: { base_url: "$BASE", credential: tok, allow_insecure_http: true } }
credentials: { tok: { type: okta_api_token, token: { env: BENCH_OKTA_TOKEN } } }
YAML
cat > "$WORK/stream.yaml" <<YAML
name: stream_users
steps:
  - id: each
    for_each: { action: okta.list_users, with: { page_size: 200 } }
    as: user
    concurrency: $CONC
    steps:
      - id: touch
        action: core.noop
outputs:
  count: \${{ steps.each.outputs.count }}
YAML
export BENCH_OKTA_TOKEN=$TOKEN SPOKEFLOW_CONNECTIONS=$WORK/connections.yaml SPOKEFLOW_STORE=$WORK/store.db
t0=$(date +%s.%N)
/usr/bin/time -v "$SPOKEFLOW" run "$WORK/stream.yaml" --json > "$WORK/out.json" 2> "$WORK/time.txt"
t1=$(date +%s.%N)
count=$(jq -r .outputs.count "$WORK/out.json")
secs=$(echo "$t1 - $t0" | bc)
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/time.txt")
echo "status: $(jq -r .status "$WORK/out.json"), users iterated: $count"
echo "wall: ${secs} s, users/s: $(echo "$count / $secs" | bc), peak RSS: $((rss / 1024)) MB (${rss} KB), store: $(du -m "$WORK/store.db" | cut -f1) MB"
