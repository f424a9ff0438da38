#!/usr/bin/env bash
# Kills spokeflow with SIGKILL at random moments while it runs multi-step flows, restarts it,
# and checks from the side effects (not the logs) that every execution completes and that
# every step whose end was journaled ran exactly once.
source "$(dirname "$0")/lib.sh"
SF="$SPOKEFLOW_TEST"
EFFECTS="$WORK/effects.txt"
: > "$EFFECTS"
KILLS=${CRASH_KILLS:-25}
RANDOM=${CRASH_SEED:-4242}
echo "seed ${CRASH_SEED:-4242}, $KILLS kills"

kills=0
round=0
started=0
# Kills are timed from the moment the execution is on disk (`run` prints "started" after its
# record is committed), not from the start of the process: on a slow machine (ASan, a busy CI
# core) start-up alone can take longer than any fixed delay. And the loop goes on until enough
# executions exist, whatever the machine's speed.
while [ "$kills" -lt "$KILLS" ] || [ "$started" -lt 10 ]; do
  round=$((round + 1))
  [ "$round" -le 400 ] || { fail "only $started executions started in $round rounds"; break; }
  out="$WORK/round.out"
  : > "$out"
  # Alternate between starting new executions (which also resume) and plain resumes.
  if [ $((round % 3)) -eq 0 ]; then
    "$SF" resume --flows-dir "$FLOWS" --lease 1s --max-crashes 1000 --quiet >"$out" 2>>"$WORK/stderr.log" &
    pid=$!
  else
    "$SF" run crashy --flows-dir "$FLOWS" --input file="$EFFECTS" --lease 1s --max-crashes 1000 --quiet >"$out" 2>>"$WORK/stderr.log" &
    pid=$!
    # Until the execution is recorded (or the process has ended, 60 s at most).
    for _ in $(seq 1 6000); do
      grep -q ' started ' "$out" && break
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.01
    done
    grep -q ' started ' "$out" && started=$((started + 1))
  fi
  # Somewhere in the first 400 ms of the run.
  sleep "0.$(printf '%03d' $((RANDOM % 400)))"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
done
echo "killed $kills times in $round rounds"

# Let everything finish.
run_capture "$SF" resume --flows-dir "$FLOWS" --lease 1s --max-crashes 1000 --quiet
expect_eq "final resume succeeds" 0 "$RC"
run_capture "$SF" resume --flows-dir "$FLOWS" --lease 1s --max-crashes 1000 --quiet
expect_contains "nothing left to resume" "nothing to resume" "$OUT"

list=$("$SF" executions list --limit 100000 --json)
total=$(echo "$list" | jq length)
top=$(echo "$list" | jq '[.[] | select(.parent_id == null)] | length')
echo "executions: $total ($top top-level)"
expect_eq "every execution succeeded" 0 "$(echo "$list" | jq '[.[] | select(.status != "succeeded")] | length')"
[ "$top" -ge 10 ] && pass "at least 10 top-level executions ran" || fail "only $top top-level executions"

# Every (execution, path, attempt) ran at most once; for a step journaled as finished at
# attempt k, the effect of attempt k exists and no later attempt ran.
dups=$(sort "$EFFECTS" | uniq -d | wc -l)
expect_eq "no step attempt ran twice" 0 "$dups"
violations=0
checked=0
for id in $(echo "$list" | jq -r '.[].id'); do
  while read -r path attempt; do
    checked=$((checked + 1))
    n=$(grep -cxF "$id $path $attempt" "$EFFECTS" || true)
    later=$(awk -v id="$id" -v p="$path" -v a="$attempt" '$1 == id && $2 == p && $3 > a' "$EFFECTS" | wc -l)
    if [ "$n" -ne 1 ] || [ "$later" -ne 0 ]; then
      violations=$((violations + 1))
      echo "    $id $path attempt $attempt: ran $n times, $later later attempts"
    fi
  done < <("$SF" executions show "$id" --json | jq -r '.steps[] | select(.kind == "test.side_effect" and .status == "succeeded") | "\(.path) \(.attempt)"')
done
echo "checked $checked finished side-effect steps"
# An attempt cut short by a kill is recorded interrupted, never left running in an execution
# that ended.
left_running=0
interrupted=0
for id in $(echo "$list" | jq -r '.[].id'); do
  steps=$("$SF" executions show "$id" --json)
  left_running=$((left_running + $(echo "$steps" | jq '[.steps[] | select(.status == "running")] | length')))
  interrupted=$((interrupted + $(echo "$steps" | jq '[.steps[] | select(.status == "interrupted")] | length')))
done
echo "interrupted attempts recorded: $interrupted"
expect_eq "no step run left running" 0 "$left_running"
expect_eq "every finished step ran exactly once" 0 "$violations"
# Each top-level execution has 7 side-effect steps of its own and 2 in its subflow.
expect_eq "all side-effect steps finished" $((top * 9)) "$checked"
finish
