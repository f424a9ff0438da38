#!/usr/bin/env bash
# The runtime through the real CLI (issue 17): one execution is never run by two processes,
# `run` never adopts others, SIGTERM drains instead of cancelling, large inputs survive a
# resume whole, a crash loop is stopped, and cancel / retry / rerun / worker / flows list.
source "$(dirname "$0")/lib.sh"
SF="$SPOKEFLOW_TEST"
cd "$WORK"
EFFECTS="$WORK/effects.txt"
# A master key: sensitive inputs are sealed, so retry and rerun get them back in clear.
export SPOKEFLOW_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SPOKEFLOW_VAULT="$WORK/vault.json"
: > "$EFFECTS"
# Short leases: a killed process's executions are anyone's a second later.
LEASE=(--lease 1s)

status_of() { "$SF" executions show "$1" --json | jq -r .status; }
started_id() { sed -n 's/^execution \([0-9A-Z]*\) started.*/\1/p' "$1" | head -1; }
has_started() { [ -n "$(started_id "$1")" ]; }
effects_of() { grep -c "^$1 " "$EFFECTS" || true; }

echo "# 16 runs at once on one store: each runs its own execution, no other"
pids=()
for i in $(seq 1 16); do
  "$SF" run quick --flows-dir "$FLOWS" --input file="$EFFECTS" --json > "run.$i.json" 2> "run.$i.err" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
ok=0 adopted=0
for i in $(seq 1 16); do
  [ "$(jq -r .status "run.$i.json" 2>/dev/null)" == succeeded ] && ok=$((ok + 1))
  jq -e 'has("resumed")' "run.$i.json" > /dev/null 2>&1 && adopted=$((adopted + 1))
done
expect_eq "all 16 succeeded" 16 "$ok"
expect_eq "none ran another's execution" 0 "$adopted"
expect_eq "16 side effects, each once" "16 0" "$(wc -l < "$EFFECTS") $(cut -d' ' -f1 "$EFFECTS" | sort | uniq -d | wc -l)"

echo "# run does not adopt an execution a killed process left"
"$SF" run napper --flows-dir "$FLOWS" --input file="$EFFECTS" --input nap=20s "${LEASE[@]}" -q > killed.out 2>&1 &
pid=$!
wait_for 60 has_started killed.out
LEFT=$(started_id killed.out)
wait_until 60 '[ "$(effects_of "$LEFT")" -ge 1 ]'
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
sleep 1.2  # its lease has lapsed: anyone's to claim
run_capture "$SF" run quick --flows-dir "$FLOWS" --input file="$EFFECTS" --json
expect_eq "run succeeds" "0 succeeded" "$RC $(echo "$OUT" | jq -r .status)"
expect_eq "...and did not run the other" "false" "$(echo "$OUT" | jq 'has("resumed")')"
expect_eq "the killed one is still unfinished" running "$(status_of "$LEFT")"

echo "# cancel: the killed execution's finally runs and it is recorded cancelled"
run_capture "$SF" executions cancel "$LEFT" "${LEASE[@]}" --json
expect_eq "cancel exits 0" 0 "$RC"
expect_eq "it is cancelled" cancelled "$(status_of "$LEFT")"
expect_eq "its finally step ran" 1 "$("$SF" executions show "$LEFT" --json | jq '[.steps[] | select(.path == "guarded.finally.cleanup" and .status == "succeeded")] | length')"
expect_eq "the wait was cut short, after never ran" 0 "$("$SF" executions show "$LEFT" --json | jq '[.steps[] | select(.path == "guarded.after")] | length')"
run_capture "$SF" executions cancel "$LEFT"
expect_eq "cancelling it again: already ended (exit 2)" 2 "$RC"
expect_contains "...saying so" "already ended" "$OUT"

echo "# SIGTERM during run drains: the execution stays runnable, a resume finishes it"
"$SF" run napper --flows-dir "$FLOWS" --input file="$EFFECTS" --input nap=3s "${LEASE[@]}" -q > term.out 2>&1 &
pid=$!
wait_for 60 has_started term.out
TERMED=$(started_id term.out)
wait_until 60 '[ "$(effects_of "$TERMED")" -ge 1 ]'
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
expect_eq "run exits 75 (stopped, still queued)" 75 "$rc"
expect_eq "not cancelled: queued again" queued "$(status_of "$TERMED")"
run_capture "$SF" resume --flows-dir "$FLOWS" "${LEASE[@]}" --json
expect_eq "resume finishes it" succeeded "$(status_of "$TERMED")"
expect_eq "...its finally once, its first step once" "3" "$(effects_of "$TERMED")"

echo "# Ctrl-C during run cancels: the finally runs, it is recorded cancelled"
"$SF" run napper --flows-dir "$FLOWS" --input file="$EFFECTS" --input nap=20s "${LEASE[@]}" -q > int.out 2>&1 &
pid=$!
wait_for 60 has_started int.out
INTED=$(started_id int.out)
wait_until 60 '[ "$(effects_of "$INTED")" -ge 1 ]'
kill -INT "$pid"
set +e; wait "$pid"; rc=$?; set -e
expect_eq "run exits 1" 1 "$rc"
expect_eq "it is cancelled" cancelled "$(status_of "$INTED")"
expect_eq "its finally ran, the step after the wait did not" 2 "$(effects_of "$INTED")"

echo "# cancel from another process while a run holds the execution"
"$SF" run napper --flows-dir "$FLOWS" --input file="$EFFECTS" --input nap=20s "${LEASE[@]}" -q > held.out 2>&1 &
pid=$!
wait_for 60 has_started held.out
HELD=$(started_id held.out)
wait_until 60 '[ "$(effects_of "$HELD")" -ge 1 ]'
run_capture "$SF" executions cancel "$HELD" "${LEASE[@]}"
expect_eq "cancel exits 0" 0 "$RC"
set +e; wait "$pid"; rc=$?; set -e
expect_eq "the run that held it ends (exit 1, cancelled)" "1 cancelled" "$rc $(status_of "$HELD")"
expect_eq "its finally ran once" 2 "$(effects_of "$HELD")"

echo "# inputs of 4.4 MB survive a kill during a wait whole"
jq -n '{logins: [range(0; 200000) | "user\(.)@example.com"]}' > logins.json
"$SF" run many_logins --flows-dir "$FLOWS" --inputs-file logins.json --input nap=3s "${LEASE[@]}" -q > big.out 2>&1 &
pid=$!
wait_for 120 has_started big.out
BIG=$(started_id big.out)
nap_steps() { "$SF" executions show "$BIG" --json | jq '[.steps[] | select(.path == "nap")] | length'; }
wait_until 60 '[ "$(nap_steps)" -ge 1 ]'
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
run_capture "$SF" resume --flows-dir "$FLOWS" "${LEASE[@]}" --json
expect_eq "resumed" succeeded "$(status_of "$BIG")"
expect_eq "with every login" "200000 user199999@example.com" "$("$SF" executions show "$BIG" --json | jq -r '"\(.outputs.after) \(.outputs.last)"')"

echo "# an execution that crashes every process running it is failed after 3, and the queue runs on"
touch poison.on
"$SF" run poison --flows-dir "$FLOWS" --input file="$WORK/poison.on" "${LEASE[@]}" -q > poison.out 2>&1 || true
POISON=$(started_id poison.out)
expect_eq "the run ended with the process" running "$(status_of "$POISON")"
for i in 1 2; do
  # Each resume waits for the lease of the process before it, claims it, and dies with it.
  set +e; "$SF" resume --flows-dir "$FLOWS" "${LEASE[@]}" -q > /dev/null 2>&1; rc=$?; set -e
  expect_eq "resume $i ends with the process" 134 "$rc"
done
run_capture "$SF" resume --flows-dir "$FLOWS" "${LEASE[@]}" --json
expect_eq "the next resume exits 0" 0 "$RC"
expect_eq "the poison execution failed" failed "$(status_of "$POISON")"
expect_contains "...saying it stopped the process" "stopped the process running it 3 times" \
  "$("$SF" executions show "$POISON" --json | jq -r .error.message)"
expect_eq "no execution is left queued or running" 0 \
  "$("$SF" executions list --json | jq '[.[] | select(.status == "queued" or .status == "running")] | length')"
rm -f poison.on

echo "# retry: the failed step runs again as its next attempt; finished ones are kept"
touch gate
run_capture "$SF" run flaky --flows-dir "$FLOWS" --input file="$EFFECTS" --input gate="$WORK/gate" --input secret=S3cret-value-123 --json
expect_eq "flaky fails while the gate exists" "1 failed" "$RC $(echo "$OUT" | jq -r .status)"
FLAKY=$(echo "$OUT" | jq -r .execution_id)
rm gate
run_capture "$SF" executions retry "$FLAKY" --json
expect_eq "retry succeeds" "0 succeeded" "$RC $(echo "$OUT" | jq -r .status)"
expect_eq "the failed step's second attempt ran" 2 "$(echo "$OUT" | jq -r .outputs.gated_attempt)"
expect_eq "the sensitive input was there in clear (from its sealed copy)" 16 "$(echo "$OUT" | jq -r .outputs.secret_length)"
expect_eq "the first step ran once, the last once" 2 "$(effects_of "$FLAKY")"
run_capture "$SF" executions retry "$FLAKY"
expect_eq "a succeeded execution cannot be retried (exit 2)" 2 "$RC"
expect_contains "...and rerun is suggested" "executions rerun" "$OUT"

echo "# rerun: a new execution with the same inputs"
run_capture "$SF" executions rerun "$FLAKY" --json --flows-dir "$FLOWS"
expect_eq "rerun succeeds" "0 succeeded" "$RC $(echo "$OUT" | jq -r .status)"
RERUN=$(echo "$OUT" | jq -r .execution_id)
[ "$RERUN" != "$FLAKY" ] && pass "rerun made a new execution" || fail "rerun reused the execution"
expect_eq "...with the same inputs" "16" "$(echo "$OUT" | jq -r .outputs.secret_length)"
expect_eq "...and says what it reran" "$FLAKY" "$("$SF" executions show "$RERUN" --json | jq -r .trigger.of)"
run_capture "$SF" executions rerun "$FLAKY" --same-version --json --flows-dir "$FLOWS"
expect_eq "rerun --same-version succeeds" "0 succeeded" "$RC $(echo "$OUT" | jq -r .status)"

echo "# a worker parks long waits in the store and wakes them; SIGTERM drains it"
run_capture "$SF" run napper --flows-dir "$FLOWS" --input file="$EFFECTS" --input nap=4s --detach
expect_eq "run --detach exits 0 at once" 0 "$RC"
PARKED=$(echo "$OUT" | sed -n 's/^execution \([0-9A-Z]*\) queued.*/\1/p')
expect_eq "...leaving it queued" queued "$(status_of "$PARKED")"
"$SF" worker --flows-dir "$FLOWS" --park-after 1s "${LEASE[@]}" --concurrency 4 > worker.out 2> worker.err &
WPID=$!
if wait_for 60 grep -q "$PARKED (napper) waiting until" worker.out; then pass "the worker parked it"; else fail "not parked: $(tail -5 worker.out worker.err)"; fi
expect_eq "...in the store" waiting "$(status_of "$PARKED")"
if wait_for 60 grep -q "$PARKED (napper) succeeded" worker.out; then pass "...and woke it"; else fail "not woken"; fi
expect_eq "...after its wait ended" "true" "$("$SF" executions show "$PARKED" --json | jq '.steps[] | select(.path == "guarded.nap") | .outputs.waited_ms >= 4000')"
kill -TERM "$WPID"
set +e; wait "$WPID"; rc=$?; set -e
expect_eq "the worker exits 0 on SIGTERM" 0 "$rc"

echo "# an idle worker or service exits on SIGTERM without waiting out the drain's grace"
# (Both waited the whole grace: nothing was left to drain, but its timer kept them alive.)
idle_stop() {  # NAME READY_PATTERN COMMAND...: seconds from SIGTERM to exit, or "still running"
  local name=$1 ready=$2; shift 2
  "$@" > "$name.out" 2> "$name.err" &
  local pid=$! waited=0
  wait_for 60 grep -q "$ready" "$name.out" "$name.err" || { echo "$name did not start: $(tail -3 "$name.err")" >&2; }
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 40 ]; do sleep 1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; wait "$pid" 2>/dev/null || true; echo "still running"; return; fi
  wait "$pid" 2>/dev/null || true
  echo "$waited"
}
took=$(idle_stop idle-worker "worker started" "$SF" --log-level info worker --flows-dir "$FLOWS" --drain-grace 120s "${LEASE[@]}")
expect_eq "an idle worker with a 120 s grace exits within 40 s of SIGTERM" yes "$([[ $took =~ ^[0-9]+$ ]] && echo yes || echo "no ($took)")"
printf 'worker:\n  drain_grace: 120s\n' > idle-serve.yaml
took=$(idle_stop idle-serve "^listening on " "$SF" serve --config idle-serve.yaml --listen 127.0.0.1:0 --flows-dir "$FLOWS")
expect_eq "an idle serve with a 120 s grace exits within 40 s of SIGTERM" yes "$([[ $took =~ ^[0-9]+$ ]] && echo yes || echo "no ($took)")"

echo "# flows list"
run_capture "$SF" flows list --flows-dir "$SRC_DIR/flows" --json
expect_eq "flows list exits 0" 0 "$RC"
expect_contains "it names the shipped flows" "bulk_deactivate_inactive_users" "$OUT"
expect_eq "with their schedule triggers" '0 3 * * 1' "$(echo "$OUT" | jq -r '.[] | select(.name == "bulk_deactivate_inactive_users") | .triggers[0].schedule')"
SPOKEFLOW_FLOWS_DIR="$SRC_DIR/flows" run_capture "$SF" flows list
expect_contains "SPOKEFLOW_FLOWS_DIR is the default directory" "onboard_user" "$OUT"
finish
