#!/usr/bin/env bash
# A resumed streamed for_each processes every item exactly once, whatever the org answers now
# (issue 17, problem 2): the shipped bulk_deactivate_inactive_users over 2,500 users, the
# process killed mid-loop, then resumed. The pages fetched again after the kill no longer hold
# the users already deactivated; the journal's pages must be what the loop works on.
source "$(dirname "$0")/lib.sh"
: "${OKTA_SIM:?path to the okta-sim binary}"
SF="$SPOKEFLOW"
cd "$WORK"
USERS=${STREAM_USERS:-2500}

TOKEN="sim-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
{
  echo 'admin: { login: admin@example.com, firstName: Ada, lastName: Admin }'
  echo 'users:'
  for i in $(seq 1 "$USERS"); do
    echo "  - { login: idle$i@example.com, firstName: Idle, lastName: U$i, lastLogin: \"2025-01-01T00:00:00.000Z\" }"
  done
} > seed.yaml
cat > sim.yaml <<'YAML'
rate_limits: { window_seconds: 60, concurrency: 500, default: 100000, buckets: { users: 100000, user_get: 100000, user: 100000, default: 100000 } }
faults: { latency_ms: 20 }
YAML
start_sim --seed seed.yaml --config sim.yaml
trap 'kill -9 ${RUN_PID:-0} 2>/dev/null || true; kill $SIM_PID 2>/dev/null || true; wait 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
sim_listening
sim_connections
deactivations() { okta "$BASE/__sim/requests" | jq '[.[] | select(.target | contains("/lifecycle/deactivate"))] | length'; }
active_idle() {
  okta "$BASE/api/v1/users?search=$(jq -rn '"status eq \"ACTIVE\" and profile.login sw \"idle\""|@uri')&limit=200" | jq length
}
expect_eq "idle users are ACTIVE to start with (a full page)" 200 "$(active_idle)"

"$SF" run bulk_deactivate_inactive_users --flows-dir "$SRC_DIR/flows" --input last_login_before=2026-01-01T00:00:00.000Z \
  --input dry_run=false --lease 1s -q > run.out 2> run.err &
RUN_PID=$!
# Killed once a few hundred users are done (not at a fixed time: machines differ).
for _ in $(seq 1 1200); do
  [ "$(deactivations)" -ge 300 ] && break
  kill -0 "$RUN_PID" 2>/dev/null || break
  sleep 0.05
done
kill -9 "$RUN_PID" 2>/dev/null || true
wait "$RUN_PID" 2>/dev/null || true
done_before=$(deactivations)
echo "killed after $done_before deactivations"
[ "$done_before" -lt "$USERS" ] && pass "killed mid-loop" || fail "the loop ended before the kill ($done_before)"

run_stdout "$SF" resume --flows-dir "$SRC_DIR/flows" --lease 1s --json
expect_eq "resume exits 0" 0 "$RC"
expect_eq "the execution succeeded" succeeded "$(echo "$OUT" | jq -r '.[0].status')"
expect_eq "...having matched every user once" "$USERS" "$(echo "$OUT" | jq -r '.[0].outputs.matched')"
expect_eq "no idle user is left ACTIVE" 0 "$(active_idle)"
calls=$(okta "$BASE/__sim/requests" | jq '[.[] | select(.target | contains("/lifecycle/deactivate")) | .target] | length')
unique=$(okta "$BASE/__sim/requests" | jq '[.[] | select(.target | contains("/lifecycle/deactivate")) | .target] | unique | length')
expect_eq "every user was deactivated" "$USERS" "$unique"
# Only the calls in flight at the kill (at most the loop's concurrency, 5) may have been repeated.
[ $((calls - unique)) -le 5 ] && pass "$((calls - unique)) deactivations repeated (in flight at the kill)" ||
  fail "$((calls - unique)) deactivations repeated"
finish
