#!/usr/bin/env bash
# What people read while and after a flow runs (issue 21): the progress line for loops on a
# terminal, --verbose and non-terminal lines, --events, full paths of subflow steps, runtime schema
# errors that name the expression and the value, `run --reveal`, and `executions show` with
# readable values, loop summaries, --failed, --step and --all-iterations.
source "$(dirname "$0")/lib.sh"
SF="$SPOKEFLOW_TEST"
cd "$WORK"
mkdir -p flows
items=$(seq -s, 0 29)
cat > flows/loop.yaml <<YAML
name: loop
inputs:
  items: { type: array, default: [$items] }
steps:
  - id: each
    for_each: \${{ inputs.items }}
    as: i
    concurrency: 4
    steps:
      - id: pick
        action: core.echo
        with: { value: "\${{ i }}" }
      - id: maybe_fail
        if: \${{ i == 7 || i == 17 || i == 27 }}
        action: core.fail
        with: { message: "item \${{ i }} is bad" }
        continue_on_error: true
      - id: call
        flow: inner
        with: { n: "\${{ i }}" }
  - id: big
    action: core.echo
    with:
      user: { id: 00u1, profile: { login: a@example.com, firstName: Ada, lastName: Admin, department: "Identity and Access Management", title: "Principal engineer" } }
YAML
cat > flows/inner.yaml <<'YAML'
name: inner
inputs:
  n: { type: integer, required: true }
steps:
  - id: deep
    action: core.echo
    with: { n: "${{ inputs.n }}" }
YAML
cat > flows/badwait.yaml <<'YAML'
name: badwait
inputs:
  d: { type: string }
steps:
  - id: pause
    action: core.wait
    with: { duration: "${{ inputs.d }}" }
YAML
cat > flows/branches.yaml <<'YAML'
name: branches
steps:
  - id: both
    parallel:
      - steps:
          - id: left
            action: core.echo
            with: { side: left }
      - steps:
          - id: right
            action: core.echo
            with: { side: right }
YAML
# tty CMD...: CMD with a terminal as its stdout (script(1)); its output in OUT, CRs dropped.
tty() {
  local cmd
  printf -v cmd '%q ' "$@"
  set +e
  OUT=$(script -qfec "$cmd" /dev/null < /dev/null | tr -d '\r')
  RC=${PIPESTATUS[0]}
  set -e
}

echo "-- lines when stdout is not a terminal"
run_stdout "$SF" run loop --flows-dir flows
expect_eq "the loop flow succeeds" 0 "$RC"
expect_contains "a line per iteration step" "each[0].pick" "$OUT"
expect_contains "a subflow's steps under the calling step" "each[0].call/deep" "$OUT"
ID=$(printf '%s\n' "$OUT" | sed -n 's/^execution \([0-9A-Z]*\) succeeded$/\1/p')
[ -n "$ID" ] || { echo "no execution id in: $OUT"; exit 1; }

echo "-- a terminal: a progress line for the loop, its failures in full"
tty "$SF" run loop --flows-dir flows
expect_eq "succeeds on a terminal" 0 "$RC"
expect_contains "the loop's line with its count" "  each 0/30" "$OUT"
expect_contains "the progress line is rewritten in place" $'\e[2K' "$OUT"
expect_contains "a failed iteration step is printed in full" "FAILED  each[7].maybe_fail" "$OUT"
expect_not_contains "iteration steps that went well are not" "each[3].pick" "$OUT"
expect_contains "steps outside the loop are" "big  (core.echo" "$OUT"
expect_contains "the outcome" "succeeded" "$OUT"
tty "$SF" run loop --flows-dir flows --verbose
expect_contains "--verbose: a line per step on a terminal too" "each[3].pick" "$OUT"
expect_not_contains "--verbose: no progress line" $'\e[2K' "$OUT"

tty "$SF" run branches --flows-dir flows
expect_contains "a terminal: the steps of a parallel branch without an id are printed (no loop stands for them)" \
  "ok      both[1].right" "$OUT"

echo "-- --events: JSON lines"
run_stdout "$SF" run loop --flows-dir flows --events
expect_eq "--events exit code" 0 "$RC"
bad=$(printf '%s\n' "$OUT" | while IFS= read -r line; do jq -e . <<< "$line" > /dev/null 2>&1 || echo "$line"; done)
expect_eq "every line is one JSON document" "" "$bad"
expect_eq "one step event per step run (30 x 4 + each + big)" 122 "$(printf '%s\n' "$OUT" | jq -s '[.[] | select(.event == "step")] | length')"
expect_eq "the loop's start: 30 items known" '{"done":0,"total":30,"total_known":true,"finished":false}' \
  "$(printf '%s\n' "$OUT" | jq -cs '[.[] | select(.event == "loop")][0] | {done, total, total_known, finished}')"
expect_eq "the loop's end: 30 done" '{"done":30,"finished":true}' \
  "$(printf '%s\n' "$OUT" | jq -cs '[.[] | select(.event == "loop")][-1] | {done, finished}')"
expect_eq "a subflow's step event has the full path" 1 \
  "$(printf '%s\n' "$OUT" | jq -s '[.[] | select(.path == "each[5].call/deep")] | length')"
expect_eq "the last line is the outcome" '"end" "succeeded"' "$(printf '%s\n' "$OUT" | tail -n 1 | jq -r '.event, .status' | jq -R . | paste -sd' ')"

echo "-- executions show"
run_stdout "$SF" executions show "$ID"
expect_eq "show exit code" 0 "$RC"
expect_contains "a loop summary" "30 iterations: 27 without a failed step, 3 with one; slowest each[" "$OUT"
expect_contains "its failed iterations" "each[17].maybe_fail" "$OUT"
expect_not_contains "not the others" "each[3].pick" "$OUT"
expect_contains "how to see them all" "--all-iterations" "$OUT"
expect_contains "a long value on several lines" $'"profile": {\n' "$OUT"
expect_contains "short members on one line" '"id": "00u1",' "$OUT"
run_stdout "$SF" executions show "$ID" --all-iterations
expect_contains "--all-iterations shows every iteration" "each[3].pick" "$OUT"
expect_not_contains "--all-iterations: no summary" "30 iterations" "$OUT"
run_stdout "$SF" executions show "$ID" --failed
expect_contains "--failed: the failed runs" "each[27].maybe_fail" "$OUT"
expect_contains "--failed: under the loop that holds them" "each  for_each" "$OUT"
expect_not_contains "--failed: nothing that went well" "each[7].pick" "$OUT"
expect_not_contains "--failed: no step outside" "big" "$OUT"
run_stdout "$SF" executions show "$ID" --step 'each[7]'
expect_contains "--step: the iteration's steps" "each[7].pick" "$OUT"
expect_contains "--step: its subflow call" "each[7].call" "$OUT"
expect_not_contains "--step: no other iteration" "each[8]" "$OUT"
expect_not_contains "--step: no loop summary" "iterations:" "$OUT"
run_stdout "$SF" executions show "$ID" --step 'each[7].pick' --json
expect_eq "--step --json: that step's runs" '["each[7].pick"]' "$(jq -c '[.steps[].path]' <<< "$OUT")"
run_stdout "$SF" executions show "$ID" --failed --json
expect_eq "--failed --json: the 3 failed runs" 3 "$(jq '.steps | length' <<< "$OUT")"
run_stdout "$SF" executions show "$ID" --step bigg
expect_eq "--step of no step: invalid input" 2 "$RC"
expect_contains "--step of no step: says so with a suggestion" "no step 'bigg' ran in this execution; did you mean 'big'?" "$ERR"

echo "-- a runtime schema error names the value and the expression"
run_stdout "$SF" run badwait --flows-dir flows
expect_eq "the flow fails" 1 "$RC"
expect_contains "field, value, expression, line and type wanted" \
  '/duration is null (from ${{ inputs.d }} at line 7): ' "$OUT"
expect_contains "and the type wanted" "(it must be string)" "$OUT"

echo "-- run --reveal"
export SPOKEFLOW_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SPOKEFLOW_VAULT="$WORK/vault.json"
SECRET="s3cr3t-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cat > flows/handout.yaml <<YAML
name: handout
inputs:
  code: { type: string, sensitive: true }
steps:
  - id: mint
    action: test.side_effect
    with: { file: "$WORK/effects.txt", secret: "\${{ inputs.code }}" }
outputs:
  token: \${{ steps.mint.outputs.token }}
YAML
run_stdout "$SF" run handout --flows-dir flows --input "code=$SECRET" --reveal
expect_eq "--reveal to a pipe: refused" 2 "$RC"
expect_contains "--reveal to a pipe: says why" "to a terminal only" "$ERR"
expect_eq "--reveal to a pipe: nothing ran" 0 "$(cat effects.txt 2>/dev/null | wc -l)"
tty "$SF" run handout --flows-dir flows --input "code=$SECRET" --reveal
expect_eq "--reveal on a terminal succeeds" 0 "$RC"
expect_contains "the sensitive output in clear, once" "\"token\": \"tok-$SECRET\"" "$OUT"
expect_contains "says it is shown once" "shown this once" "$OUT"
RID=$(printf '%s\n' "$OUT" | sed -n 's/^execution \([0-9A-Z]*\) succeeded$/\1/p')
run_stdout "$SF" executions show "$RID" --json
expect_not_contains "the store keeps it sealed" "tok-$SECRET" "$OUT"
tty env -u SPOKEFLOW_MASTER_KEY SPOKEFLOW_MASTER_KEY_FILE="$WORK/none" "$SF" run handout --flows-dir flows --input "code=$SECRET" --reveal
expect_eq "--reveal without the master key: the environment" 3 "$RC"
expect_contains "--reveal without the master key: says so" "--reveal needs the master key" "$OUT"

echo "-- the Okta client's own retries and waits are recorded with the step run"
: "${OKTA_SIM:?path to the okta-sim binary}"
TOKEN="sim-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cat > seed.yaml <<'YAML'
admin: { login: admin@example.com, firstName: Ada, lastName: Admin }
users:
  - { login: alice@example.com, firstName: Alice, lastName: Smith }
YAML
start_sim --seed seed.yaml
trap 'kill $SIM_PID 2>/dev/null || true; wait $SIM_PID 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
sim_listening
sim_connections 'retry: { max_attempts: 3, initial_interval: 20ms, max_interval: 50ms }'
cat > flows/lookup.yaml <<'YAML'
name: lookup
connection: okta
steps:
  - id: who
    action: okta.get_user
    with: { user_id: alice@example.com }
YAML
curl -s -X PUT -H 'Content-Type: application/json' -d '{"faults": {"error_503_rate": 1.0}}' "$BASE/__sim/config" > /dev/null
run_stdout "$SF" run lookup --flows-dir flows
expect_eq "every answer a 503: the flow fails" 1 "$RC"
expect_contains "the step line counts the client's retries" "2 client retries" "$OUT"
LID=$(printf '%s\n' "$OUT" | sed -n 's/^execution \([0-9A-Z]*\) failed$/\1/p')
run_stdout "$SF" executions show "$LID" --json
expect_eq "the record: 2 retries after 503s" '{"retries":2,"statuses":[503,503],"kinds":["server","server"]}' \
  "$(jq -c '.steps[0].client | {retries, statuses: [.retried[].status], kinds: [.retried[].kind]}' <<< "$OUT")"
# Backoff 20 ms then 40 ms, each with jitter down to half: at least 30 ms in all, each wait listed.
expect_eq "the record: the waits before them" true \
  "$(jq '.steps[0].client | .retry_wait_ms >= 30 and .retry_wait_ms == ([.retried[].wait_ms] | add)' <<< "$OUT")"
run_stdout "$SF" executions show "$LID"
expect_contains "executions show says it" "client:  2 retries (after 503 server, 503 server)" "$OUT"
# The client's own log lines carry who the call was for, the connection and Okta's request id.
"$SF" run lookup --flows-dir flows --log-level debug --log-format json > /dev/null 2> client_log.json || true
expect_eq "a retry's log line names the execution, step, attempt, connection and Okta request id" true \
  "$(jq -s '[.[] | select(.message | test("attempt 1 failed"))][0] | (.execution_id | length) == 26 and .flow == "lookup"
    and .step == "who" and .attempt == 1 and .connection == "okta" and (.okta_request_id | length) > 0' client_log.json)"
expect_eq "...and each answer's line too" true \
  "$(jq -s '[.[] | select(.message | test("-> 503"))] | length == 3 and all(.step == "who" and .connection == "okta" and (.okta_request_id | length) > 0)' client_log.json)"
curl -s -X PUT -H 'Content-Type: application/json' -d '{"faults": {"error_503_rate": 0}}' "$BASE/__sim/config" > /dev/null
run_stdout "$SF" run lookup --flows-dir flows --json
expect_eq "no faults: succeeds" 0 "$RC"
SID=$(jq -r .execution_id <<< "$OUT")
run_stdout "$SF" executions show "$SID" --json
expect_eq "no retries: no client record" null "$(jq -c '.steps[0].client' <<< "$OUT")"

# Okta allows 2 user reads per 2-second window here: the client waits for the next window rather
# than take a 429, and each step that waited says how long.
curl -s -X PUT -H 'Content-Type: application/json' \
  -d '{"rate_limits": {"window_seconds": 2, "buckets": {"user_get": 2}}}' "$BASE/__sim/config" > /dev/null
{
  echo "name: paced"
  echo "connection: okta"
  echo "steps:"
  for s in a b c d e; do
    echo "  - { id: $s, action: okta.get_user, with: { user_id: alice@example.com } }"
  done
} > flows/paced.yaml
run_stdout "$SF" run paced --flows-dir flows --json
expect_eq "paced by the rate limit: succeeds" 0 "$RC"
PID_=$(jq -r .execution_id <<< "$OUT")
run_stdout "$SF" executions show "$PID_" --json
expect_eq "no 429 was taken: no client retries" 0 "$(jq '[.steps[].client.retries // 0] | add' <<< "$OUT")"
# 5 reads at 2 a window touch at least 3 windows: at least one whole window waited for, less the
# time the calls took.
expect_eq "the waits for the rate limit are on the steps that waited (over 1 s in all)" true \
  "$(jq '[.steps[].client.rate_wait_ms // 0] | add > 1000' <<< "$OUT")"
WAITED=$(jq -r '[.steps[] | select((.client.rate_wait_ms // 0) > 0) | .path][0] // "none"' <<< "$OUT")
expect_eq "...on steps after the first window's" 1 "$(case "$WAITED" in b|c|d|e) echo 1;; *) echo 0;; esac)"
run_stdout "$SF" executions show "$PID_"
expect_contains "executions show says it" "waiting for the rate limit" "$OUT"
expect_contains "...on a step that waited ($WAITED)" "$WAITED" "$OUT"

finish
