#!/usr/bin/env bash
# Installs what is missing, builds spokeflow (Release) and runs the main job: a shipped flow,
# printed step by step, recorded in an SQLite store under build/, then shown from the store.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSPOKEFLOW_TESTS=OFF
cmake --build build/release -j "$(nproc)"
SPOKEFLOW=build/release/engine/cli/spokeflow
export SPOKEFLOW_STORE=build/demo-store.db
$SPOKEFLOW validate flows/*.yaml
set +e
$SPOKEFLOW run onboard_batch --input 'users=["ada@example.com","grace@example.com","linus@example.com"]'
rc=$?
set -e
id=$($SPOKEFLOW executions list --flow onboard_batch --limit 1 --json | sed -n 's/^ *"id": "\(.*\)",$/\1/p' | head -1)
$SPOKEFLOW executions show "$id"
exit $rc
