#!/usr/bin/env bash
# Issue 17's crash test: 3 `spokeflow worker` processes on one SQLite store run executions of a
# flow that creates a user, adds it to a group, activates it and reads every member of a group
# listed page by page, while a random worker is killed with SIGKILL every 0.5-2 s and started
# again. okta-sim's request log is the ledger: every execution succeeds, every finished step's
# call was made (and each attempt of a step made its call once: only an attempt cut short by a
# kill repeats it), no streamed item is skipped, no user is created twice, nothing is left, no
# worker exits or crashes on its own, and the run ends within a bound it states (CRASH_BOUND
# seconds from the workers' start, by default 300 + 2 per execution: several times what it takes
# under ASan on 2 shared cores, so only a stall reaches it).
# With CRASH_PG_RESTART=1 (on PostgreSQL, in a cluster of the test's own) the server is also
# restarted once (pg_ctl restart -m fast) with the workers running, when a third of the
# executions have succeeded; killing goes on until both the kills and the restart are done.
source "$(dirname "$0")/lib.sh"
# pg_worker_crash_test.sh runs the same on a PostgreSQL store.
[ -z "${CRASH_ON_PG:-}" ] || source "$(dirname "$0")/pg_lib.sh"
: "${OKTA_SIM:?path to the okta-sim binary}"
SF="$SPOKEFLOW"
cd "$WORK"
EXECUTIONS=${CRASH_EXECUTIONS:-200}
KILLS=${CRASH_KILLS:-20}
BOUND=${CRASH_BOUND:-$((300 + 2 * EXECUTIONS))}
RANDOM=${CRASH_SEED:-1717}
RESTART_PG=${CRASH_PG_RESTART:-}
[ -z "$RESTART_PG" ] || [ -n "${CRASH_ON_PG:-}" ] || { echo "FAIL: CRASH_PG_RESTART needs CRASH_ON_PG"; exit 1; }
echo "seed ${CRASH_SEED:-1717}: $EXECUTIONS executions, at least $KILLS kills${CRASH_ON_PG:+, on PostgreSQL}${RESTART_PG:+, restarted once}, bound ${BOUND} s"

TOKEN="sim-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
{
  echo 'admin: { login: admin@example.com, firstName: Ada, lastName: Admin }'
  echo 'groups: [{ name: Engineering }, { name: Crew }]'
  echo 'users:'
  for i in 1 2 3 4 5; do echo "  - { login: crew$i@example.com, firstName: Crew, lastName: M$i, groups: [Crew] }"; done
} > seed.yaml
# Limits far above what the test uses (pacing is not what it checks). The latency sets how long
# the work takes whatever the machine's speed: 200 executions x 13 calls x 150 ms over 9 at a
# time is at least 43 s, room for 20 kills at most 2 s apart; kills land while calls are in flight.
cat > sim.yaml <<'YAML'
rate_limits: { window_seconds: 60, concurrency: 500, default: 100000, buckets: { users: 100000, user_get: 100000, user: 100000, groups: 100000, default: 100000 } }
faults: { latency_ms: 150, latency_jitter_ms: 50 }
YAML
start_sim --seed seed.yaml --config sim.yaml
WORKERS=()
cleanup() {
  for p in "${WORKERS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  kill "$SIM_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -z "${CRASH_ON_PG:-}" ] || pg_cleanup
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
sim_listening
sim_connections 'retry: { max_attempts: 3, initial_interval: 50ms }'

# Queued for the workers, four at a time.
seq 1 "$EXECUTIONS" | xargs -P 4 -I{} "$SF" run worker_onboard --flows-dir "$FLOWS" --detach \
  --input login=crash{}@example.com > enqueued.txt 2> enqueue.err || true
expect_eq "$EXECUTIONS executions queued" "$EXECUTIONS" "$(grep -c ' queued ' enqueued.txt)"

start_worker() {
  "$SF" worker --flows-dir "$FLOWS" --lease 2s --concurrency 3 --max-crashes 50 -q >> "worker.$1.out" 2>> "worker.$1.err" &
  WORKERS[$1]=$!
}
started=$SECONDS
for i in 0 1 2; do start_worker "$i"; done
unfinished() {
  "$SF" executions list --limit 100000 --json |
    jq '[.[] | select(.status == "queued" or .status == "running" or .status == "waiting")] | length'
}
succeeded() { "$SF" executions list --limit 100000 --json | jq '[.[] | select(.status == "succeeded")] | length'; }
# A worker's own exit (not our SIGKILL, status 137): the database's loss or anything else must
# not end a worker.
self_exits=0
reap() {
  local rc=0
  wait "$1" 2> /dev/null || rc=$?
  [ "$rc" -eq 137 ] || { self_exits=$((self_exits + 1)); echo "  worker $1 ended by itself with status $rc"; }
}
kills=0
restarted=${RESTART_PG:+no}
restarted=${restarted:-n/a}
deadline=$((started + BOUND))
# Kill while there is work left (and at least KILLS times, and until the restart is done); then
# let the workers finish.
while [ "$SECONDS" -lt "$deadline" ]; do
  ms=$((500 + RANDOM % 1501))  # 0.5-2 s
  sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  victim=$((RANDOM % 3))
  kill -9 "${WORKERS[$victim]}" 2>/dev/null && kills=$((kills + 1))
  reap "${WORKERS[$victim]}"
  start_worker "$victim"
  if [ "$restarted" = no ] && [ "$(succeeded)" -ge $((EXECUTIONS / 3)) ]; then
    done_at_restart=$(succeeded)
    start_time=$(pg_sql "SELECT pg_postmaster_start_time()")
    pg_restart && restarted=yes || { fail "pg-cluster.sh restart failed"; restarted=failed; }
    echo "restarted PostgreSQL with the workers running, $done_at_restart of $EXECUTIONS executions done, after $kills kills"
    [ "$(pg_sql "SELECT pg_postmaster_start_time()")" != "$start_time" ] && pass "the server was restarted" ||
      fail "the server's start time did not change"
  fi
  [ "$kills" -ge "$KILLS" ] && [ "$restarted" != no ] && break
done
left_at_last_kill=$(unfinished)
echo "killed $kills workers"
until [ "$(unfinished)" -eq 0 ] || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.5; done
elapsed=$((SECONDS - started))
[ "$(unfinished)" -eq 0 ] && pass "the run ended in ${elapsed} s, within its bound of $BOUND s" ||
  fail "work was still unfinished at the bound of $BOUND s"
# The last workers are all still running: none ended on its own after the last kill either.
for p in "${WORKERS[@]}"; do
  state=$(ps -o stat= -p "$p" 2>/dev/null | cut -c1 || true)
  [ -n "$state" ] && [ "$state" != Z ] || { self_exits=$((self_exits + 1)); echo "  worker $p was gone at the end"; }
done
for p in "${WORKERS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${WORKERS[@]}"; do wait "$p" 2>/dev/null || true; done
WORKERS=()
[ "$kills" -ge "$KILLS" ] && pass "$kills kills" || fail "only $kills kills"
[ "$left_at_last_kill" -gt 0 ] && pass "the last kill landed with $left_at_last_kill executions unfinished" ||
  fail "the work was over before the last kill"
[ "$restarted" = no ] && fail "a third of the executions never succeeded: the database was not restarted"
[ "$restarted" = yes ] && pass "the database restarted with $done_at_restart of $EXECUTIONS executions done"
expect_eq "no worker ended by itself" 0 "$self_exits"
expect_eq "no sanitizer report or crash in the workers' logs" 0 \
  "$(cat worker.*.err | grep -c 'AddressSanitizer\|runtime error\|LeakSanitizer\|terminate called' || true)"
if [ "$restarted" = yes ]; then
  echo "the workers logged $(cat worker.*.err | grep -ci 'error\|warn' || true) error/warning lines;" \
    "$(cat worker.*.err | grep -c 'a commit to the store failed: stopping' || true) runs stopped on a failed commit; a sample:"
  # Without times and execution ids, so that alike lines count together.
  cat worker.*.err | grep -i 'error\|warn' | sed -E 's/^[0-9T:.-]+ //; s/\[[0-9A-Z]{26}\] //' | cut -c1-150 |
    sort | uniq -c | sort -rn | head -8 || true
fi

list=$("$SF" executions list --limit 100000 --json)
expect_eq "every execution succeeded" "$EXECUTIONS" "$(echo "$list" | jq '[.[] | select(.status == "succeeded")] | length')"
expect_eq "nothing left queued, running or waiting" 0 "$(echo "$list" | jq '[.[] | select(.status != "succeeded")] | length')"
expect_eq "each execution listed once" "$EXECUTIONS" "$(echo "$list" | jq '[.[].id] | unique | length')"

# The ledger.
okta "$BASE/__sim/requests" > requests.json
expect_eq "the request log kept everything" 1 "$(jq 'if length < 10000 then 1 else 0 end' requests.json)"
# No user was created twice: per login, one create that Okta answered 200.
expect_eq "one user per execution, none twice" "$EXECUTIONS" \
  "$(jq '[.[] | select(.method == "POST" and (.target | startswith("/api/v1/users?")) and .status == 200)
          | .body | fromjson | .profile.login | select(startswith("crash"))] | unique | length' requests.json)"
expect_eq "...and no second 200 for any login" 0 \
  "$(jq '[.[] | select(.method == "POST" and (.target | startswith("/api/v1/users?")) and .status == 200)
          | .body | fromjson | .profile.login] | length - (unique | length)' requests.json)"
for id in $(echo "$list" | jq -r '.[].id'); do "$SF" executions show "$id" --json; done | jq -s . > shows.json
expect_eq "one execution per login" "$EXECUTIONS" "$(jq '[.[].inputs.login] | unique | length' shows.json)"
# One pass over the journals and the log (jq): a list of problems, and what was checked.
jq -n --slurpfile shows shows.json --slurpfile log requests.json '
  ($log[0] | map(.request_id) | group_by(.) | map({key: .[0], value: length}) | from_entries) as $by_id
  | ($log[0]) as $reqs
  | [ $shows[0][] as $e
      | ($e.inputs.login) as $login | ($e.outputs.user_id) as $uid
      # Every finished Okta step names the call it made: that call is in the log, once.
      | ( [ $e.steps[] | select(.status == "succeeded" and (.kind | startswith("okta."))) | .outputs.okta_request_id
            | select(. != null) | select(($by_id[.] // 0) != 1) | "\($e.id): request \(.) in the log \($by_id[.] // 0) times" ] )
      # Each attempt of a step that changes the org made its call once; only attempts cut short
      # by a kill (recorded interrupted) or failed are followed by another.
      + ( [ {p: "create", n: ([$reqs[] | select(.method == "POST" and (.target | startswith("/api/v1/users?")) and (.body | contains($login)))] | length)},
            {p: "add", n: ([$reqs[] | select(.method == "PUT" and (.target | endswith("/users/" + $uid)))] | length)},
            {p: "activate", n: ([$reqs[] | select(.method == "POST" and (.target | startswith("/api/v1/users/" + $uid + "/lifecycle/activate")))] | length)} ]
          | map(. as $c | ([$e.steps[] | select(.path == $c.p)] | length) as $attempts
                | select($c.n < 1 or $c.n > $attempts) | "\($e.id): \($c.p) made \($c.n) calls in \($attempts) attempts") )
      # No item skipped: every member the journaled pages held was read by a finished step.
      + ( ([$e.steps[] | select(.status == "succeeded" and (.path | test("^each\\.page\\["))) | .outputs.items[].id]) as $items
          | ([$e.steps[] | select(.status == "succeeded" and (.path | test("^each\\[[0-9]+\\]\\.read$"))) | .outputs.user.id]) as $read
          | if ($items | length) == 5 and ($items | sort) == ($read | sort) then [] else ["\($e.id): pages held \($items | length) items, \($read | length) were read"] end )
    ] | flatten | {problems: ., checked: ([$shows[0][].steps[] | select(.status == "succeeded" and (.kind | startswith("okta.")))] | length),
         interrupted: ([$shows[0][].steps[] | select(.status == "interrupted")] | length)}' > ledger.json
echo "checked $(jq .checked ledger.json) finished Okta calls against the log; $(jq .interrupted ledger.json) attempts were cut short by kills"
jq -r '.problems[] | "    " + .' ledger.json | head -20
expect_eq "the ledger agrees with every journal" 0 "$(jq '.problems | length' ledger.json)"
finish
