#!/usr/bin/env bash
# Installs what is missing, builds spokeflow (Release) and runs the main job: the shipped
# onboard_user and offboard_user flows against the bundled Okta simulator (okta-sim on
# 127.0.0.1), with the API token in the encrypted vault and every step recorded in the
# embedded SQLite store under build/demo/, then shows one execution from the store.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSPOKEFLOW_TESTS=OFF
cmake --build build/release -j "$(nproc)" --target spokeflow okta-sim
SPOKEFLOW=build/release/engine/cli/spokeflow
SIM=build/release/tests/okta_sim/okta-sim

DEMO=build/demo
rm -rf "$DEMO" && mkdir -p "$DEMO"
export SPOKEFLOW_STORE=$DEMO/store.db
export SPOKEFLOW_VAULT=$DEMO/vault.json
export SPOKEFLOW_MASTER_KEY_FILE=$DEMO/master.key
export SPOKEFLOW_CONNECTIONS=$DEMO/connections.yaml
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')

# The simulated Okta org, on a free loopback port.
"$SIM" --port 0 --api-token "$TOKEN" --seed examples/demo/seed.yaml --log-level warn > "$DEMO/sim.out" &
SIM_PID=$!
trap 'kill $SIM_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q listening "$DEMO/sim.out" 2>/dev/null && break; sleep 0.05; done
BASE=$(sed -n 's/^listening on //p' "$DEMO/sim.out")
echo "okta-sim: $BASE"

# What an admin does once: a master key, the token in the vault, a connections file.
$SPOKEFLOW secrets init
printf '%s\n' "$TOKEN" | $SPOKEFLOW secrets set demo_okta_token
sed "s#http://127.0.0.1:8008#$BASE#; s#{ env: OKTA_SIM_TOKEN }#{ secret: demo_okta_token }#" \
  examples/connections/simulator.yaml > "$SPOKEFLOW_CONNECTIONS"
$SPOKEFLOW connections test okta

$SPOKEFLOW validate flows/*.yaml
WIKI=$(curl -s -H "Authorization: SSWS $TOKEN" "$BASE/api/v1/apps?q=Company" | sed -n 's/.*"id":"\(0oa[^"]*\)".*/\1/p' | head -1)
echo "{\"app_ids\": [\"$WIKI\"]}" > "$DEMO/apps.json"

set +e
$SPOKEFLOW run onboard_user --input email=grace@example.com --input first_name=Grace --input last_name=Hopper \
  --input department=Engineering --inputs-file "$DEMO/apps.json"
rc=$?
set -e
id=$($SPOKEFLOW executions list --flow onboard_user --limit 1 --json | sed -n 's/^ *"id": "\(.*\)",$/\1/p' | head -1)
$SPOKEFLOW executions show "$id"
[ $rc -eq 0 ] || exit $rc
$SPOKEFLOW run offboard_user --input user=dave@example.com
