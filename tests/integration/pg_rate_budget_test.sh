#!/usr/bin/env bash
# One Okta rate budget for all workers (issue 19): 3 `spokeflow worker` processes on one
# PostgreSQL store run executions that read users as fast as they are let, against okta-sim with
# the user_get bucket limited to 100 requests per 10 s window. okta-sim's request log is the
# ledger: no answer is a 429, and in every full window at least 90% of the limit was used.
#
# 100 per 10 s is Okta's 600 per minute at a sixth of the window: the budget works per window
# (a row per org and bucket: the window's end, its limit, the permits taken of it), whatever
# the window's length, so the same rate over shorter windows shows the same thing in a sixth of
# the time, with six times as many window ends (where processes that pace alone overshoot).
#
# RATE_BUDGET=local runs the same with each worker pacing alone (SPOKEFLOW_RATE_BUDGET=local):
# then 429s appear and the test fails, which shows that it tests the shared budget.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
: "${OKTA_SIM:?path to the okta-sim binary}"
SF="$SPOKEFLOW"
cd "$WORK"
WINDOW=10
LIMIT=100
EXECUTIONS=16
READS=25  # 400 reads: 4 windows at the limit, and a little of a fifth

TOKEN="sim-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
cat > seed.yaml <<'YAML'
admin: { login: admin@example.com, firstName: Ada, lastName: Admin }
users:
  - { login: reader@example.com, firstName: Rea, lastName: Der }
YAML
cat > sim.yaml <<YAML
rate_limits: { window_seconds: $WINDOW, concurrency: 500, default: 100000, buckets: { users: 100000, user_get: $LIMIT, user: 100000, groups: 100000, default: 100000 } }
YAML
start_sim --seed seed.yaml --config sim.yaml
WORKERS=()
cleanup() {
  for p in "${WORKERS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  kill "$SIM_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  pg_cleanup
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
sim_listening
# A 429 would be retried (and still show in the log): the test counts them, it does not hide them.
sim_connections 'retry: { max_attempts: 6, initial_interval: 50ms }'
if [ "${RATE_BUDGET:-}" = local ]; then
  echo "(RATE_BUDGET=local: each worker paces alone; this run is expected to FAIL)"
  export SPOKEFLOW_RATE_BUDGET=local
fi

jq -n --argjson n "$READS" '{login: "reader@example.com", reads: [range($n)]}' > inputs.json
for i in $(seq 1 "$EXECUTIONS"); do
  "$SF" run rate_hammer --flows-dir "$FLOWS" --inputs-file inputs.json --detach >> enqueued.txt 2>> enqueue.err || true
done
expect_eq "$EXECUTIONS executions queued" "$EXECUTIONS" "$(grep -c ' queued ' enqueued.txt)"
# Nothing was called yet: the log starts with the workers.
curl -s -X DELETE "$BASE/__sim/requests" > /dev/null

started=$SECONDS
for w in 0 1 2; do
  "$SF" worker --flows-dir "$FLOWS" --concurrency 2 --log-level info > "worker.$w.out" 2> "worker.$w.err" &
  WORKERS+=($!)
done
unfinished() { pg_in_schema "SELECT count(*) FROM executions WHERE status IN ('queued', 'running', 'waiting')"; }
none_unfinished() { [ "$(unfinished)" -eq 0 ]; }
# 400 reads at 98 per 10 s take about 41 s; the bound leaves room for a slow machine.
wait_for 240 none_unfinished || fail "executions left unfinished after 240 s: $(unfinished)"
echo "  the reads took $((SECONDS - started)) s"
for p in "${WORKERS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
for p in "${WORKERS[@]}"; do wait "$p" 2>/dev/null || true; done
WORKERS=()
expect_eq "every execution succeeded" "$EXECUTIONS" \
  "$(pg_in_schema "SELECT count(*) FROM executions WHERE status = 'succeeded' AND flow_name = 'rate_hammer'")"
ran() { sed -n 's/^execution \([0-9A-Z]*\) (rate_hammer) succeeded$/\1/p' "$@"; }
echo "  executions per worker: $(for w in 0 1 2; do ran "worker.$w.out" | wc -l; done | tr '\n' ' ')"
expect_eq "all three workers ran executions" 3 \
  "$(for w in 0 1 2; do [ "$(ran "worker.$w.out" | wc -l)" -gt 0 ] && echo x; done | wc -l)"

# The ledger: every GET /api/v1/users/{login} (the user_get bucket), its second and status.
curl -s "$BASE/__sim/requests" |
  jq -r '.[] | select(.method == "GET" and (.target | test("^/api/v1/users/[^/?]+$"))) |
         "\(.time | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) \(.status)"' > reads.txt
expect_eq "every read is in the log" "$((EXECUTIONS * READS))" "$(awk '$2 == 200' reads.txt | wc -l)"
expect_eq "no read was answered 429" 0 "$(awk '$2 == 429' reads.txt | wc -l)"
# okta-sim's windows: one starts with the first request at or after the previous one's end.
# What each used (429s use nothing), first and last left out: the work starts and ends in them.
awk -v w="$WINDOW" '$2 != 429 { if (!started || $1 >= start + w) { if (started) print used; start = $1; used = 0; started = 1 } used++ }
                    END { if (started) print used }' reads.txt > windows.txt
echo "  used per window: $(tr '\n' ' ' < windows.txt)"
FULL=$(sed '1d;$d' windows.txt)
expect_eq "at least two full windows" 1 "$(echo "$FULL" | grep -c . | awk '{print ($1 >= 2) ? 1 : 0}')"
expect_eq "at least 90% of the limit used in every full window" "" \
  "$(echo "$FULL" | awk -v min=$((LIMIT * 9 / 10)) 'NF && $1 < min')"
expect_eq "none over the limit" "" "$(awk -v lim="$LIMIT" '$1 > lim' windows.txt)"
if [ "${RATE_BUDGET:-}" != local ]; then
  expect_eq "the budget's row holds the bucket's limit" "$LIMIT" \
    "$(pg_in_schema "SELECT lim FROM rate_budget WHERE bucket = 'user_get'")"
fi
[ -z "$PG_PASSWORD" ] || expect_no_secret "the store's password is in no output" "$PG_PASSWORD" worker.*.out worker.*.err enqueue.err
expect_no_secret "the API token is in no output" "$TOKEN" worker.*.out worker.*.err enqueue.err
finish
