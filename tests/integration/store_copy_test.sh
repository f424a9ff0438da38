#!/usr/bin/env bash
# `spokeflow store copy` (issue 19): real flows against okta-sim on an SQLite store (succeeded,
# failed, parked, queued), copied to PostgreSQL; `executions list/show` read the same there; the
# failed one retried and the queued and parked ones run to the end on PostgreSQL; a second copy
# onto the now non-empty target is refused and changes nothing; a purge on PostgreSQL. The URL's
# password is in no output.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
: "${OKTA_SIM:?path to the okta-sim binary}"
SF="$SPOKEFLOW"
cd "$WORK"
SQLITE="$WORK/store.db"
export SPOKEFLOW_STORE="$SQLITE"  # the flows run on SQLite first

TOKEN="sim-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cat > seed.yaml <<'YAML'
admin: { login: admin@example.com, firstName: Ada, lastName: Admin }
users:
  - { login: friend@example.com, firstName: Old, lastName: Friend }
YAML
start_sim --seed seed.yaml
WORKER_PID=
cleanup() {
  [ -z "$WORKER_PID" ] || { kill "$WORKER_PID" 2>/dev/null || true; wait "$WORKER_PID" 2>/dev/null || true; }
  kill "$SIM_PID" 2>/dev/null || true
  wait "$SIM_PID" 2>/dev/null || true
  pg_cleanup
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
sim_listening
sim_connections 'retry: { max_attempts: 2, initial_interval: 50ms }'

mkdir flows
# Creates a user, reads another (failing while that one does not exist), activates the first.
cat > flows/copy_probe.yaml <<'YAML'
name: copy_probe
inputs:
  login: { type: string, required: true }
  friend: { type: string, required: true }
steps:
  - id: create
    action: okta.create_user
    with:
      profile: { login: "${{ inputs.login }}", email: "${{ inputs.login }}", firstName: Copy, lastName: Probe }
      activate: false
  - id: friend
    action: okta.get_user
    with: { user_id: "${{ inputs.friend }}" }
  - id: activate
    action: okta.activate_user
    with: { user_id: "${{ steps.create.outputs.user.id }}", send_email: false }
outputs:
  user_id: ${{ steps.create.outputs.user.id }}
YAML
# Creates a user, waits, activates it: parked in the store during the wait.
cat > flows/copy_nap.yaml <<'YAML'
name: copy_nap
inputs:
  login: { type: string, required: true }
  nap: { type: string, default: 1s }
steps:
  - id: create
    action: okta.create_user
    with:
      profile: { login: "${{ inputs.login }}", email: "${{ inputs.login }}", firstName: Copy, lastName: Nap }
      activate: false
  - id: nap
    wait: ${{ inputs.nap }}
  - id: activate
    action: okta.activate_user
    with: { user_id: "${{ steps.create.outputs.user.id }}", send_email: false }
outputs:
  user_id: ${{ steps.create.outputs.user.id }}
YAML
FL=(--flows-dir "$WORK/flows")
status_of() { "$SF" executions show "$1" --json --store "${2:-$SQLITE}" 2>/dev/null | jq -r .status; }
user_status() { okta "$BASE/api/v1/users/$1" | jq -r .status; }

echo "# on SQLite: one succeeded, one failed, one parked, one queued"
run_stdout "$SF" run copy_probe "${FL[@]}" --input login=ok@example.com --input friend=friend@example.com --json
expect_eq "the first succeeded" succeeded "$(echo "$OUT" | jq -r .status)"
OK_ID=$(echo "$OUT" | jq -r .execution_id)
run_stdout "$SF" run copy_probe "${FL[@]}" --input login=bad@example.com --input friend=later@example.com --json
expect_eq "the second failed (its friend does not exist yet)" "1 failed" "$RC $(echo "$OUT" | jq -r .status)"
FAILED_ID=$(echo "$OUT" | jq -r .execution_id)
run_stdout "$SF" run copy_nap "${FL[@]}" --input login=nap@example.com --input nap=8s --detach --json
PARKED_ID=$(echo "$OUT" | jq -r .execution_id)
expect_eq "the third was queued" queued "$(status_of "$PARKED_ID")"
"$SF" worker "${FL[@]}" --park-after 1s --lease 2s > worker1.out 2> worker1.err &
WORKER_PID=$!
if wait_until 60 '[ "$(status_of "$PARKED_ID")" = waiting ]'; then pass "a worker parked it in the store"; else fail "not parked: $(tail -5 worker1.out worker1.err)"; fi
kill -TERM "$WORKER_PID"
wait "$WORKER_PID" || true
WORKER_PID=
expect_eq "...and stopped, leaving it parked" waiting "$(status_of "$PARKED_ID")"
run_stdout "$SF" run copy_nap "${FL[@]}" --input login=queued@example.com --detach --json
QUEUED_ID=$(echo "$OUT" | jq -r .execution_id)
expect_eq "the fourth is queued (no worker runs)" queued "$(status_of "$QUEUED_ID")"
IDS=("$OK_ID" "$FAILED_ID" "$PARKED_ID" "$QUEUED_ID")

"$SF" executions list --json --limit 1000 > list.sqlite.json
for id in "${IDS[@]}"; do "$SF" executions show "$id" --json > "show.$id.sqlite.json"; done

echo "# store copy to PostgreSQL"
run_stdout "$SF" store copy --from "$SQLITE" --to "$PG_STORE" --json
printf '%s\n%s\n' "$OUT" "$ERR" > run.txt
expect_eq "copy exits 0" 0 "$RC"
expect_eq "rows per table" "4 2 1 0 0 0" \
  "$(echo "$OUT" | jq -r '.tables | "\(.executions) \(.flow_sources) \(.step_runs >= 6 | if . then 1 else 0 end) \(.api_tokens) \(.hook_deliveries) \(.schedule_fires)"')"
expect_eq "no lease to release (the worker drained)" 0 "$(echo "$OUT" | jq .leases_released)"
expect_contains "the target named without its password" "postgresql://spokeflow:***@" "$(echo "$OUT" | jq -r .to)"
expect_eq "the PostgreSQL tables hold the step runs" "$(sqlite3 "$SQLITE" 'SELECT count(*) FROM step_runs')" \
  "$(pg_in_schema 'SELECT count(*) FROM step_runs')"

echo "# executions list/show on PostgreSQL equal those on SQLite"
"$SF" executions list --json --limit 1000 --store "$PG_STORE" > list.pg.json
expect_eq "list" "$(jq -S . list.sqlite.json)" "$(jq -S . list.pg.json)"
for id in "${IDS[@]}"; do
  "$SF" executions show "$id" --json --store "$PG_STORE" > "show.$id.pg.json"
  expect_eq "show $id" "$(jq -S . "show.$id.sqlite.json")" "$(jq -S . "show.$id.pg.json")"
done

echo "# on PostgreSQL: the failed one retried, the queued and parked ones run by a worker"
okta -X POST "$BASE/api/v1/users?activate=false" \
  -d '{"profile":{"login":"later@example.com","email":"later@example.com","firstName":"Late","lastName":"Friend"}}' > /dev/null
run_stdout "$SF" executions retry "$FAILED_ID" "${FL[@]}" --store "$PG_STORE" --json
printf '%s\n%s\n' "$OUT" "$ERR" >> run.txt
expect_eq "the retry succeeded" "0 succeeded" "$RC $(echo "$OUT" | jq -r .status)"
expect_eq "...its user was created once (the kept step) and activated" "1 1 PROVISIONED" \
  "$("$SF" executions show "$FAILED_ID" --json --store "$PG_STORE" | jq -r '[([.steps[] | select(.path == "create")] | length), ([.steps[] | select(.path == "activate" and .status == "succeeded")] | length)] | join(" ")') $(user_status bad@example.com)"
"$SF" worker "${FL[@]}" --store "$PG_STORE" --lease 2s > worker2.out 2> worker2.err &
WORKER_PID=$!
if wait_until 90 '[ "$(status_of "$QUEUED_ID" "$PG_STORE")" = succeeded ] && [ "$(status_of "$PARKED_ID" "$PG_STORE")" = succeeded ]'; then
  pass "the worker on PostgreSQL ran the queued and the parked one to the end"
else
  fail "not finished: $(status_of "$QUEUED_ID" "$PG_STORE") $(status_of "$PARKED_ID" "$PG_STORE"); $(tail -5 worker2.out worker2.err)"
fi
kill -TERM "$WORKER_PID"
wait "$WORKER_PID" || true
WORKER_PID=
expect_eq "their users are activated (no password yet: PROVISIONED)" "PROVISIONED PROVISIONED" "$(user_status nap@example.com) $(user_status queued@example.com)"
expect_eq "the parked one's user was created once (the journal kept it)" 1 \
  "$("$SF" executions show "$PARKED_ID" --json --store "$PG_STORE" | jq '[.steps[] | select(.path == "create")] | length')"
expect_eq "SQLite is as it was" "succeeded failed waiting queued" \
  "$(for id in "${IDS[@]}"; do status_of "$id"; done | tr '\n' ' ' | sed 's/ $//')"

echo "# a second copy onto the non-empty target: refused, nothing changed"
"$SF" executions list --json --limit 1000 --store "$PG_STORE" > before.json
STEPS_BEFORE=$(pg_in_schema 'SELECT count(*) || $$/$$ || max(seq) FROM step_runs')
run_stdout "$SF" store copy --from "$SQLITE" --to "$PG_STORE"
printf '%s\n%s\n' "$OUT" "$ERR" >> run.txt
expect_eq "exit 2" 2 "$RC"
expect_contains "says why and what to do" "holds records already" "$ERR"
expect_contains "...naming --merge" "--merge" "$ERR"
"$SF" executions list --json --limit 1000 --store "$PG_STORE" > after.json
expect_eq "the executions are unchanged" "$(jq -S . before.json)" "$(jq -S . after.json)"
expect_eq "...and the step runs" "$STEPS_BEFORE" "$(pg_in_schema 'SELECT count(*) || $$/$$ || max(seq) FROM step_runs')"

echo "# purge on PostgreSQL (it refused before)"
run_stdout "$SF" executions purge --store "$PG_STORE" --flow copy_probe --older-than 1s --json
printf '%s\n%s\n' "$OUT" "$ERR" >> run.txt
expect_eq "purge exits 0, both copy_probe executions purged" "0 2" "$RC $(echo "$OUT" | jq .purged)"
expect_eq "...with their step runs and source; copy_nap's kept" "0 0 0 2" \
  "$(pg_in_schema "SELECT (SELECT count(*) FROM executions WHERE flow_name = 'copy_probe') || ' ' || (SELECT count(*) FROM step_runs WHERE execution_id IN ('$OK_ID', '$FAILED_ID')) || ' ' || (SELECT count(*) FROM flow_sources f WHERE NOT EXISTS (SELECT 1 FROM executions e WHERE e.flow_hash = f.hash)) || ' ' || (SELECT count(*) FROM executions WHERE flow_name = 'copy_nap')")"

echo "# bad arguments"
run_stdout "$SF" store copy --from "$WORK/none.db" --to "$PG_STORE"
printf '%s\n%s\n' "$OUT" "$ERR" >> run.txt
expect_eq "no source: exit 2" 2 "$RC"
expect_contains "...saying so" "no SQLite store at" "$ERR"
expect_eq "...and not created" no "$([ -e "$WORK/none.db" ] && echo yes || echo no)"
run_stdout "$SF" store copy --from "$SQLITE" --to "$WORK/other.db"
expect_eq "a target that is not PostgreSQL: exit 2" 2 "$RC"
[ -z "$PG_PASSWORD" ] || expect_no_secret "the store's password is in no output" "$PG_PASSWORD" run.txt worker2.out worker2.err
finish
