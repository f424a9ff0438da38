#!/usr/bin/env bash
# A real flow on the PostgreSQL store (issue 19) through the real CLI against okta-sim: three Okta
# calls that change the org and a streamed for_each, with `--store postgresql://...`; its records
# read back through SPOKEFLOW_STORE; a store that cannot be opened named without its password.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
: "${OKTA_SIM:?path to the okta-sim binary}"
SF="$SPOKEFLOW"
cd "$WORK"

TOKEN="sim-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cat > seed.yaml <<'YAML'
admin: { login: admin@example.com, firstName: Ada, lastName: Admin }
groups: [{ name: Engineering }, { name: Crew }]
users:
  - { login: crew1@example.com, firstName: Crew, lastName: One, groups: [Crew] }
  - { login: crew2@example.com, firstName: Crew, lastName: Two, groups: [Crew] }
  - { login: crew3@example.com, firstName: Crew, lastName: Three, groups: [Crew] }
YAML
start_sim --seed seed.yaml
trap 'kill $SIM_PID 2>/dev/null || true; wait $SIM_PID 2>/dev/null || true; pg_cleanup; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
sim_listening
sim_connections 'retry: { max_attempts: 3, initial_interval: 50ms }'
unset SPOKEFLOW_STORE  # the first run names the store with --store

echo "# store migrate creates a new store, then finds it current"
run_stdout "$SF" store migrate --store "$PG_STORE"
printf '%s\n%s\n' "$OUT" "$ERR" > run.txt
expect_eq "store migrate exits 0" 0 "$RC"
expect_contains "...creating it" "created at schema 5" "$OUT"
expect_contains "...naming the store without its password" "store postgresql://spokeflow:***@" "$OUT"
run_stdout "$SF" store migrate --store "$PG_STORE" --json
printf '%s\n%s\n' "$OUT" "$ERR" >> run.txt
expect_eq "a second time: already current" "5 5" "$(echo "$OUT" | jq -r '"\(.from) \(.to)"')"

echo "# a flow with Okta calls and a streamed for_each, on --store postgresql://..."
run_stdout "$SF" run worker_onboard --store "$PG_STORE" --flows-dir "$FLOWS" --input login=pg1@example.com --json
printf '%s\n%s\n' "$OUT" "$ERR" >> run.txt
expect_eq "run exits 0" 0 "$RC"
expect_eq "it succeeded" succeeded "$(echo "$OUT" | jq -r .status)"
ID=$(echo "$OUT" | jq -r .execution_id)
USER_ID=$(okta "$BASE/api/v1/users/pg1@example.com" | jq -r .id)
expect_eq "the user exists in the org, activated (no password yet: PROVISIONED)" PROVISIONED \
  "$(okta "$BASE/api/v1/users/$USER_ID" | jq -r .status)"
expect_eq "...in Engineering" true "$(okta "$BASE/api/v1/users/$USER_ID/groups" | jq '[.[].profile.name] | index("Engineering") != null')"
expect_eq "the flow's outputs" "$USER_ID 3" "$(echo "$OUT" | jq -r '"\(.outputs.user_id) \(.outputs.crew)"')"

echo "# its records, in PostgreSQL, read back through SPOKEFLOW_STORE"
export SPOKEFLOW_STORE="$PG_STORE"
run_stdout "$SF" executions show "$ID" --json
printf '%s\n%s\n' "$OUT" "$ERR" >> run.txt
expect_eq "show finds it, succeeded" succeeded "$(echo "$OUT" | jq -r .status)"
expect_eq "create, add and activate succeeded once each" "1 1 1" \
  "$(echo "$OUT" | jq -r '[("create", "add", "activate") as $p | [.steps[] | select(.path == $p and .status == "succeeded")] | length] | join(" ")')"
expect_eq "each streamed member was read" 3 "$(echo "$OUT" | jq '[.steps[] | select((.path | test("^each\\[[0-9]+\\]\\.read$")) and .status == "succeeded")] | length')"
expect_eq "the rows are in the test's schema" "1 succeeded" \
  "$(pg_in_schema "SELECT count(*) || ' ' || min(status) FROM executions WHERE id = '$ID'")"
expect_eq "...with its step runs" 1 "$(pg_in_schema "SELECT (count(*) >= 9)::int FROM step_runs WHERE execution_id = '$ID'")"
run_stdout "$SF" executions list --json
expect_eq "executions list reads it" "$ID" "$(echo "$OUT" | jq -r '.[0].id')"

echo "# a store that cannot be opened: a clear error without the password"
WRONG=$(printf '%s' "$PG_STORE" | sed 's|^\([a-z]*://[^:/@]*:\)[^@]*@|\1Wr0ngPassXYZ@|')
run_capture "$SF" executions list --store "$WRONG"
printf '%s\n' "$OUT" >> run.txt
expect_eq "exits non-zero" 1 "$([ "$RC" -ne 0 ] && echo 1 || echo 0)"
expect_contains "names the store and the reason" "password authentication failed" "$OUT"
expect_contains "...the store's URL, its password left out" "cannot open store postgresql://spokeflow:***@" "$OUT"
expect_not_contains "...not the password given" "Wr0ngPassXYZ" "$OUT"
run_capture "$SF" --help
printf '%s\n' "$OUT" >> run.txt
expect_contains "--help shows SPOKEFLOW_STORE's URL" "postgresql://spokeflow:***@" "$OUT"
[ -z "$PG_PASSWORD" ] || expect_no_secret "the store's password is in no output" "$PG_PASSWORD" run.txt
finish
