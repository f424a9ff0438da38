#!/usr/bin/env bash
# The chaos soak (issue 16, part 2): for DURATION seconds, executions of the shipped flows are
# queued against okta-sim while faults are switched on and off in phases (5xx, connection resets,
# latency, truncated bodies, 429 storms) and `spokeflow worker` processes are killed with SIGKILL
# and started again. Worker 0 is never killed: its RSS is sampled after a warm-up and at the end.
# Then enqueuing stops, faults go off, the workers get a bounded time to finish, and the store
# and okta-sim's System Log (the ledger) are checked. See tests/chaos/README.md.
#
#   tests/chaos/soak.sh DURATION      e.g. 600 for a person; CTest (it.chaos_soak) runs 120
#
# Exit 1 when an execution is stuck or lost, a side effect happened twice, an execution failed
# with kind `internal`, a worker crashed or a sanitizer reported, or the RSS bound is exceeded.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DURATION=${1:-${SOAK_DURATION:-600}}
if ! [[ "$DURATION" =~ ^[0-9]+$ ]] || [ "$DURATION" -lt 30 ]; then
  echo "usage: $0 DURATION_SECONDS (at least 30)" >&2
  exit 2
fi
SF=${SPOKEFLOW:-$ROOT/build/asan/engine/cli/spokeflow}
SIM=${OKTA_SIM:-$ROOT/build/asan/tests/okta_sim/okta-sim}
for b in "$SF" "$SIM"; do [ -x "$b" ] || { echo "not built: $b (set SPOKEFLOW and OKTA_SIM)" >&2; exit 2; }; done
for t in jq curl sqlite3; do command -v "$t" > /dev/null || { echo "needs $t" >&2; exit 2; }; done
FLOWS="$ROOT/flows"
SEED=${SOAK_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$SEED
NWORKERS=${SOAK_WORKERS:-3}           # worker 0 is never killed; the others are
CONCURRENCY=${SOAK_CONCURRENCY:-4}    # executions per worker
LEASE=${SOAK_LEASE:-2s}
BACKLOG=${SOAK_BACKLOG:-16}           # unfinished executions the enqueuer keeps at most
DRAIN_BOUND=${SOAK_DRAIN_BOUND:-300}  # seconds the workers get to finish after the run
# RSS bound of the long-running worker: end <= start * FACTOR + SLACK (see the README for why).
RSS_FACTOR_PCT=${SOAK_RSS_FACTOR_PCT:-125}
RSS_SLACK_MB=${SOAK_RSS_SLACK_MB:-20}
ASAN=no
if grep -qa __asan_init "$SF"; then ASAN=yes; fi  # instrumented code calls it (GCC and Clang)
# ASan keeps freed memory in a quarantine (256 MB by default) to catch use-after-free; it fills
# over minutes and would read as growth. A smaller one still catches recent use-after-free and
# lets the RSS say something about leaks.
if [ "$ASAN" = yes ]; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:quarantine_size_mb=${SOAK_ASAN_QUARANTINE_MB:-16}"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/spokeflow-soak.XXXXXX")
cd "$WORK"
export SPOKEFLOW_STORE="$WORK/store.db"
SIM_PID=
ENQ_PID=
WORKERS=()
cleanup() {
  [ -n "$ENQ_PID" ] && kill "$ENQ_PID" 2> /dev/null || true
  for p in "${WORKERS[@]}"; do kill -9 "$p" 2> /dev/null || true; done
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2> /dev/null || true
  wait 2> /dev/null || true
  if [ -n "${KEEP_WORK:-}" ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # through the EXIT trap: no worker or simulator is left behind
now_ms() { NOW=${EPOCHREALTIME/./}; NOW=$((NOW / 1000)); }
sleep_ms() { sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"; }
log() { printf '[%4ds] %s\n' "$SECONDS" "$*"; }
echo "soak: ${DURATION}s, seed $SEED, $NWORKERS workers x $CONCURRENCY, lease $LEASE, ASan: $ASAN"

# --- The org: pools of users, one per execution that needs an existing user. -----------------
# Enqueues are paced by the backlog and by a process start per `run --detach`; a release build
# on 2 cores queues about 9 a second, 18% of them offboard_user. A pool that runs out is not
# used again (onboard_user, which makes its own users, is queued instead).
POOL=$((DURATION * 2 + 50))
TOKEN="soak-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
{
  echo 'admin: { login: admin@example.com, firstName: Ada, lastName: Admin }'
  echo 'groups: [{ name: Engineering }, { name: Sales }, { name: Contractors }]'
  echo 'users:'
  for i in $(seq 1 "$POOL"); do
    echo "  - { login: leaver$i@example.com, firstName: Leaver, lastName: L$i, password: Soak-Passw0rd-$i, groups: [Engineering, Contractors] }"
    echo "  - { login: reset$i@example.com, firstName: Reset, lastName: R$i, password: Soak-Passw0rd-$i }"
    echo "  - { login: locked$i@example.com, firstName: Locked, lastName: K$i, password: Soak-Passw0rd-$i, status: LOCKED_OUT }"
    echo "  - { login: member$i@example.com, firstName: Member, lastName: M$i, password: Soak-Passw0rd-$i }"
  done
  # Matched by bulk_deactivate_inactive_users (dry run): two pages of a streamed search.
  for i in $(seq 1 250); do
    echo "  - { login: idle$i@example.com, firstName: Idle, lastName: I$i, lastLogin: \"2019-01-01T00:00:00.000Z\" }"
  done
  echo 'apps:'
  printf '  - { label: Wiki, url: https://wiki.example.com, users: [%s] }\n' \
    "$(seq 1 2 "$POOL" | sed 's/.*/leaver&@example.com/' | paste -sd, -)"
  echo '  - { label: Payroll, url: https://payroll.example.com }'
} > seed.yaml
# Calm: limits far above what the soak sends, no faults. Every phase sets every key.
CALM_LIMITS='{"window_seconds": 60, "concurrency": 500, "default": 100000, "buckets": {"users": 100000, "user_get": 100000, "user": 100000, "groups": 100000, "apps": 100000, "default": 100000}}'
NO_FAULTS='{"latency_ms": 0, "latency_jitter_ms": 0, "error_500_rate": 0, "error_503_rate": 0, "reset_rate": 0, "truncate_rate": 0}'
echo "{\"rate_limits\": $CALM_LIMITS, \"faults\": $NO_FAULTS}" > sim.json
"$SIM" --port 0 --api-token "$TOKEN" --seed seed.yaml --config sim.json --log-level error > sim.out 2> sim.err &
SIM_PID=$!
for _ in $(seq 1 600); do grep -q listening sim.out 2> /dev/null && break; sleep 0.1; done
BASE=$(sed -n 's/^listening on //p' sim.out)
[ -n "$BASE" ] || { echo "okta-sim did not start"; cat sim.err; exit 1; }
export SIM_TOKEN="$TOKEN"
# The client retries what is safe 3 times; flows keep their own `retry:` (only onboard_user's
# create has one). Latency faults stay far below the request timeout: a request the client gave
# up on could land later, which is not what the ledger checks.
CLIENT_ATTEMPTS=3
cat > connections.yaml <<YAML
aliases:
  okta: { connection: sim, retry: { max_attempts: $CLIENT_ATTEMPTS, initial_interval: 100ms, max_interval: 2s } }
connections:
  sim: { base_url: "$BASE", credential: sim_token, allow_insecure_http: true, request_timeout: 30s }
credentials:
  sim_token: { type: okta_api_token, token: { env: SIM_TOKEN } }
YAML
export SPOKEFLOW_CONNECTIONS="$WORK/connections.yaml"
admin() { curl -s --max-time 30 "$@"; }
mapfile -t APP_IDS < <(curl -s -H "Authorization: SSWS $TOKEN" "$BASE/api/v1/apps" | jq -r '.[].id')
[ "${#APP_IDS[@]}" -eq 2 ] || { echo "okta-sim answered no apps"; exit 1; }

sql() { sqlite3 -cmd '.timeout 30000' "$SPOKEFLOW_STORE" "$@"; }
unfinished() {
  sql "SELECT count(*) FROM executions WHERE parent_id IS NULL AND status IN ('queued','running','waiting')" 2> /dev/null || echo 0
}
ended() {
  sql "SELECT count(*) FROM executions WHERE parent_id IS NULL AND status IN ('succeeded','failed','cancelled')" 2> /dev/null || echo 0
}

# --- The enqueuer: one execution at a time while fewer than BACKLOG are unfinished. -----------
# Each execution has its own user: a new login for onboard_user, the next user of a pool else.
enqueue_one() {  # N: writes in/N.json, queues it, records "id flow subject" or the error
  local n=$1 roll=$((RANDOM % 100)) flow subject inputs out id
  if { [ "$roll" -ge 45 ] && [ "$roll" -lt 63 ] && [ "$P_LEAVER" -ge "$POOL" ]; } ||
    { [ "$roll" -ge 63 ] && [ "$roll" -lt 75 ] && [ "$P_RESET" -ge "$POOL" ]; } ||
    { [ "$roll" -ge 75 ] && [ "$roll" -lt 85 ] && [ "$P_LOCKED" -ge "$POOL" ]; } ||
    { [ "$roll" -ge 85 ] && [ "$roll" -lt 94 ] && [ "$P_MEMBER" -ge "$POOL" ]; }; then
    roll=0
  fi
  if [ "$roll" -lt 45 ]; then
    flow=onboard_user subject="new$n@example.com"
    local depts=(Engineering Sales Support) apps="[]"  # Support has no group: the flow's warn path
    case $((RANDOM % 3)) in 1) apps="[\"${APP_IDS[0]}\"]" ;; 2) apps="[\"${APP_IDS[0]}\", \"${APP_IDS[1]}\"]" ;; esac
    inputs="{\"email\": \"$subject\", \"first_name\": \"New\", \"last_name\": \"Hire$n\", \"department\": \"${depts[RANDOM % 3]}\", \"app_ids\": $apps}"
  elif [ "$roll" -lt 63 ]; then
    P_LEAVER=$((P_LEAVER + 1)) flow=offboard_user subject="leaver$P_LEAVER@example.com"
    local modes=(suspend deactivate) del=false
    [ $((RANDOM % 3)) -eq 0 ] && del=true
    inputs="{\"user\": \"$subject\", \"mode\": \"${modes[RANDOM % 2]}\", \"delete\": $del}"
  elif [ "$roll" -lt 75 ]; then
    P_RESET=$((P_RESET + 1)) flow=password_reset subject="reset$P_RESET@example.com"
    local methods=(email link temporary)
    inputs="{\"user\": \"$subject\", \"method\": \"${methods[RANDOM % 3]}\"}"
  elif [ "$roll" -lt 85 ]; then
    P_LOCKED=$((P_LOCKED + 1)) flow=unlock_if_locked subject="locked$P_LOCKED@example.com"
    inputs="{\"user\": \"$subject\"}"
  elif [ "$roll" -lt 94 ]; then
    P_MEMBER=$((P_MEMBER + 1)) flow=add_user_to_group subject="member$P_MEMBER@example.com"
    inputs="{\"login\": \"$subject\", \"group\": \"Sales\"}"
  elif [ "$roll" -lt 97 ]; then
    flow=bulk_deactivate_inactive_users subject=- inputs='{"last_login_before": "2020-01-01T00:00:00.000Z", "dry_run": true}'
  else
    flow=sync_groups subject=- inputs='{}'
  fi
  echo "$inputs" > "in/$n.json"
  if out=$("$SF" run "$flow" --flows-dir "$FLOWS" --detach --inputs-file "in/$n.json" 2>&1); then
    id=$(sed -n 's/^execution \([0-9A-Z]*\) queued .*/\1/p' <<< "$out")
    if [ -n "$id" ]; then printf '%s %s %s\n' "$id" "$flow" "$subject" >> enqueued.txt; return; fi
  fi
  printf '%s %s: %s\n' "$n" "$flow" "$(tr '\n' ' ' <<< "$out")" >> enqueue_errors.txt
}
enqueuer() {  # runs in the background until END_AT (seconds since the script started)
  RANDOM=$((SEED + 1))
  P_LEAVER=0 P_RESET=0 P_LOCKED=0 P_MEMBER=0
  local n=0
  while [ "$SECONDS" -lt "$END_AT" ]; do
    if [ "$(unfinished)" -ge "$BACKLOG" ]; then sleep 0.2; continue; fi
    n=$((n + 1))
    enqueue_one "$n"
  done
}

# --- Workers. ----------------------------------------------------------------------------------
# --max-crashes is high: the kills are the soak's, not the executions' fault; a crash loop guard
# failing executions with kind `internal` would hide a real `internal` failure.
start_worker() {
  "$SF" worker --flows-dir "$FLOWS" --lease "$LEASE" --concurrency "$CONCURRENCY" --max-crashes 50 \
    --drain-grace 5s -q >> "worker.$1.out" 2>> "worker.$1.err" &
  WORKERS[$1]=$!
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2> /dev/null || echo 0; }

# --- Fault phases: each fault alone, then all of them mildly, calm in between. ---------------
phase_config() {  # NAME -> the JSON to PUT to /__sim/config
  # The client paces itself by the rate-limit headers, so small buckets alone give few 429s;
  # a concurrency cap of 2 with some latency (in-flight requests count) refuses most overlaps.
  local storm='{"window_seconds": 2, "concurrency": 2, "default": 5, "buckets": {"users": 4, "user_get": 5, "user": 5, "groups": 4, "apps": 4, "default": 5}}'
  local slow='{"latency_ms": 100, "latency_jitter_ms": 200, "error_500_rate": 0, "error_503_rate": 0, "reset_rate": 0, "truncate_rate": 0}'
  local f
  case $1 in
    calm | drain) f=$NO_FAULTS ;;
    5xx) f='{"latency_ms": 0, "latency_jitter_ms": 0, "error_500_rate": 0.2, "error_503_rate": 0.1, "reset_rate": 0, "truncate_rate": 0}' ;;
    resets) f='{"latency_ms": 0, "latency_jitter_ms": 0, "error_500_rate": 0, "error_503_rate": 0, "reset_rate": 0.2, "truncate_rate": 0}' ;;
    latency) f='{"latency_ms": 300, "latency_jitter_ms": 1200, "error_500_rate": 0, "error_503_rate": 0, "reset_rate": 0, "truncate_rate": 0}' ;;
    truncated) f='{"latency_ms": 0, "latency_jitter_ms": 0, "error_500_rate": 0, "error_503_rate": 0, "reset_rate": 0, "truncate_rate": 0.15}' ;;
    429-storm) echo "{\"rate_limits\": $storm, \"faults\": $slow}"; return ;;
    mixed) f='{"latency_ms": 50, "latency_jitter_ms": 400, "error_500_rate": 0.04, "error_503_rate": 0.03, "reset_rate": 0.04, "truncate_rate": 0.04}' ;;
  esac
  echo "{\"rate_limits\": $CALM_LIMITS, \"faults\": $f}"
}
FAULT_PHASES=(5xx resets latency truncated 429-storm mixed)
PHASE=calm
# okta-sim's request log keeps 10,000 entries and is slow to read whole: it is moved into
# requests.tsv (time, status) at every switch, and the report counts each phase's requests by
# the switch times in timeline.tsv (the few requests answered between a read and the clear
# that follows it are not counted).
move_request_log() {
  admin "$BASE/__sim/requests" | jq -r '.[] | [.time, .status] | @tsv' >> requests.tsv || true
  admin -X DELETE "$BASE/__sim/requests" > /dev/null || true
}
set_phase() {  # the new faults first; then the time they hold from, then the log
  admin -X PUT -H 'Content-Type: application/json' --data "$(phase_config "$1")" "$BASE/__sim/config" > /dev/null
  PHASE=$1
  printf '%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$(date +%s%3N)" "$1" >> timeline.tsv
  move_request_log
}

# --- The run. --------------------------------------------------------------------------------
mkdir in
touch enqueued.txt enqueue_errors.txt requests.tsv
printf '%s\t%s\tcalm\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$(date +%s%3N)" > timeline.tsv
START_AT=$SECONDS
END_AT=$((START_AT + DURATION))
for i in $(seq 0 $((NWORKERS - 1))); do start_worker "$i"; done
enqueuer &
ENQ_PID=$!
LONG_PID=${WORKERS[0]}
KILLS=0 UNEXPECTED_EXITS=0 LONG_DIED=0 RSS_START=0 RSS_START_AT=0 RSS_MAX=0
WARM_ENDED=${SOAK_WARMUP_EXECUTIONS:-25}
now_ms
NEXT_KILL=$((NOW + 2000 + RANDOM % 4001))
NEXT_PHASE=$((NOW + 5000))
PHASE_I=0
printf 'seconds\tvmrss_kb\tended\n' > rss.tsv
NEXT_RSS=$SECONDS
while [ "$SECONDS" -lt "$END_AT" ]; do
  sleep 0.25
  now_ms
  if ! kill -0 "$LONG_PID" 2> /dev/null; then
    LONG_DIED=1
    log "the long-running worker is gone"
    break
  fi
  if [ "$NOW" -ge "$NEXT_KILL" ] && [ "$NWORKERS" -gt 1 ]; then
    victim=$((1 + RANDOM % (NWORKERS - 1)))
    if kill -9 "${WORKERS[$victim]}" 2> /dev/null; then
      KILLS=$((KILLS + 1))
      wait "${WORKERS[$victim]}" 2> /dev/null || true
    else  # it ended by itself: a crash, unless it exited cleanly (it must not)
      wait "${WORKERS[$victim]}" 2> /dev/null && rc=0 || rc=$?
      UNEXPECTED_EXITS=$((UNEXPECTED_EXITS + 1))
      log "worker $victim ended by itself (exit $rc)"
    fi
    start_worker "$victim"
    NEXT_KILL=$((NOW + 2000 + RANDOM % 4001))  # 2-6 s
  fi
  if [ "$NOW" -ge "$NEXT_PHASE" ]; then
    if [ "$PHASE" = calm ]; then
      set_phase "${FAULT_PHASES[PHASE_I % ${#FAULT_PHASES[@]}]}"
      PHASE_I=$((PHASE_I + 1))
      now_ms
      NEXT_PHASE=$((NOW + 8000 + RANDOM % 5001))  # faults for 8-13 s
    else
      set_phase calm
      now_ms
      NEXT_PHASE=$((NOW + 3000 + RANDOM % 3001))  # calm for 3-6 s
    fi
  fi
  if [ "$SECONDS" -ge "$NEXT_RSS" ]; then
    r=$(rss_kb "$LONG_PID") e=$(ended)
    printf '%s\t%s\t%s\n' $((SECONDS - START_AT)) "$r" "$e" >> rss.tsv
    # The start sample: once the worker has run a few executions (caches, pools, the allocator's
    # arenas are warm), or a third into the run at the latest.
    if [ "$RSS_START" -eq 0 ] && { [ "$e" -ge "$WARM_ENDED" ] || [ $((SECONDS - START_AT)) -ge $((DURATION / 3)) ]; }; then
      RSS_START=$r RSS_START_AT=$((SECONDS - START_AT))
      log "RSS of the long-running worker after warm-up ($e executions ended): $r kB"
    fi
    [ "$r" -gt "$RSS_MAX" ] && RSS_MAX=$r
    NEXT_RSS=$((SECONDS + 10))
  fi
done
log "run over: $KILLS kills; stopping the enqueuer, faults off"
wait "$ENQ_PID" 2> /dev/null || true
ENQ_PID=
set_phase drain
# Kills stop too: the killed workers are started once more and left to finish.
drain_start=$SECONDS
left=$(unfinished)
log "$left executions unfinished; the workers get up to ${DRAIN_BOUND}s"
while [ "$left" -gt 0 ] && [ $((SECONDS - drain_start)) -lt "$DRAIN_BOUND" ]; do
  sleep 1
  left=$(unfinished)
done
DRAIN_SECONDS=$((SECONDS - drain_start))
log "after ${DRAIN_SECONDS}s: $left unfinished"
if kill -0 "$LONG_PID" 2> /dev/null; then
  sleep 2  # idle: what it still holds is what it keeps
  RSS_END=$(rss_kb "$LONG_PID")
  [ "$RSS_END" -gt "$RSS_MAX" ] && RSS_MAX=$RSS_END
  printf '%s\t%s\t%s\n' $((SECONDS - START_AT)) "$RSS_END" "$(ended)" >> rss.tsv
else
  LONG_DIED=1 RSS_END=0
fi
# SIGTERM: each worker drains and exits 0; under ASan the leak check runs at exit.
for p in "${WORKERS[@]}"; do kill -TERM "$p" 2> /dev/null || true; done
LONG_RC=0
wait "$LONG_PID" 2> /dev/null || LONG_RC=$?
OTHER_BAD_EXITS=0
for i in "${!WORKERS[@]}"; do
  [ "$i" -eq 0 ] && continue
  wait "${WORKERS[$i]}" 2> /dev/null || OTHER_BAD_EXITS=$((OTHER_BAD_EXITS + 1))
done
WORKERS=()

# SOAK_PLANT=1 shows that the checks can fail: with the workers stopped it queues one more
# execution (stuck), records an id nobody queued (lost), reactivates a user a succeeded
# onboard_user activated once more than that step's attempts (a duplicate effect) and locks
# a user a succeeded unlock_if_locked unlocked (its work no longer in the org).
if [ -n "${SOAK_PLANT:-}" ]; then
  enqueue_one plant
  echo "01PLANTEDPLANTEDPLANTEDXYZ sync_groups -" >> enqueued.txt
  sql -json "SELECT e.id AS id, json_extract(e.outputs, '$.user_id') AS uid, count(s.seq) AS attempts
               FROM executions e JOIN step_runs s ON s.execution_id = e.id AND s.path = 'activate'
              WHERE e.flow_name = 'onboard_user' AND e.status = 'succeeded' GROUP BY e.id LIMIT 1" > planted.json
  for _ in $(seq 0 "$(jq '.[0].attempts' planted.json)"); do
    curl -s -X POST -H "Authorization: SSWS $TOKEN" "$BASE/api/v1/users/$(jq -r '.[0].uid' planted.json)/lifecycle/reactivate" > /dev/null
  done
  admin -X POST "$BASE/__sim/users/$(sql "SELECT json_extract(inputs, '$.user') FROM executions
    WHERE flow_name = 'unlock_if_locked' AND status = 'succeeded' LIMIT 1")/lock" > /dev/null
  echo "planted: 1 stuck, 1 lost, 1 duplicate effect ($(jq -r '.[0].id' planted.json)), 1 undone unlock"
fi

# --- The report. -------------------------------------------------------------------------------
source "$ROOT/tests/chaos/report.sh"
