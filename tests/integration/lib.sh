# Shared helpers for the integration tests (sourced).
set -euo pipefail
: "${SPOKEFLOW:?path to the spokeflow binary}"
: "${SPOKEFLOW_TEST:?path to the spokeflow-test binary}"
: "${SRC_DIR:?source tree}"
: "${TEST_DIR:?tests folder}"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/spokeflow-it.XXXXXX")
trap '[ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
export SPOKEFLOW_STORE="$WORK/store.db"
FLOWS="$TEST_DIR/integration/flows"
PASSED=0
FAILED=0

pass() { PASSED=$((PASSED + 1)); echo "  ok: $*"; }
fail() { FAILED=$((FAILED + 1)); echo "  FAIL: $*"; }
# expect_eq WHAT EXPECTED ACTUAL
expect_eq() { if [ "$2" == "$3" ]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi; }
# expect_contains WHAT NEEDLE HAYSTACK
expect_contains() { if [[ "$3" == *"$2"* ]]; then pass "$1"; else fail "$1: [$2] not found in: $3"; fi; }
expect_not_contains() { if [[ "$3" != *"$2"* ]]; then pass "$1"; else fail "$1: [$2] should not appear"; fi; }
# wait_for SECONDS CMD...: polls CMD until it succeeds (false after SECONDS).
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}
# wait_until SECONDS 'CONDITION': as wait_for, with the condition (a shell text, such as
# '[ "$(status_of X)" = done ]') evaluated afresh at each try; `wait_for 60 test "$(...)"`
# would read its value once.
wait_until() {
  local seconds=$1
  shift
  wait_for "$seconds" eval "$*"
}
# run_cmd VAR_OUT VAR_RC cmd...: captures stdout+stderr and the exit code
run_capture() { set +e; OUT=$("$@" 2>&1); RC=$?; set -e; }
execution_count() { "$SPOKEFLOW" executions list --limit 100000 --json | jq length; }
finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
# run_stdout cmd...: stdout in OUT, stderr in ERR, exit code in RC
run_stdout() { set +e; OUT=$("$@" 2>"$WORK/stderr.txt"); RC=$?; set -e; ERR=$(cat "$WORK/stderr.txt"); }
# The forms of a secret that must never be written: as is, JSON-escaped once and twice (a
# string inside a JSON text, such a text inside another) and percent-encoded; searched for in
# any letter case.
secret_forms() {
  printf '%s\n' "$1"
  jq -rn --arg s "$1" '$s | tojson | .[1:-1]'
  jq -rn --arg s "$1" '$s | tojson | .[1:-1] | tojson | .[1:-1]'
  jq -rn --arg s "$1" '$s | @uri'
}
# expect_no_secret WHAT SECRET FILE...: no form of SECRET in any FILE
expect_no_secret() {
  local what=$1 secret=$2 form f found=
  shift 2
  # An empty secret would be found everywhere: the caller has none to look for.
  if [ -z "$secret" ]; then fail "$what: no secret given to look for"; return; fi
  while IFS= read -r form; do
    for f in "$@"; do
      [ -f "$f" ] || continue
      if grep -aiqF -- "$form" "$f"; then found="$found $(basename "$f")"; fi
    done
  done < <(secret_forms "$secret" | sort -u)
  if [ -z "$found" ]; then pass "$what"; else fail "$what: a form of the secret is in$found"; fi
}

# start_sim [OKTA_SIM_ARGS...]: okta-sim on a free loopback port with the test's $TOKEN, its
# output in $WORK/sim.out and sim.err; sets SIM_PID (the test stops it on exit).
start_sim() {
  "$OKTA_SIM" --port 0 --api-token "$TOKEN" --log-level error "$@" > "$WORK/sim.out" 2> "$WORK/sim.err" &
  SIM_PID=$!
}
# Waits until okta-sim (output in $WORK/sim.out) listens and sets BASE; the test ends, with
# okta-sim's errors, when it does not start.
sim_listening() {
  wait_for 60 grep -q '^listening on ' "$WORK/sim.out" || { echo "okta-sim did not start"; cat "$WORK/sim.err"; exit 1; }
  BASE=$(sed -n 's/^listening on //p' "$WORK/sim.out")
}
# sim_connections [ALIAS_OPTIONS]: a connections file whose alias `okta` calls okta-sim at $BASE
# with the test's $TOKEN (read from SIM_TOKEN), exported as SPOKEFLOW_CONNECTIONS. ALIAS_OPTIONS
# is YAML flow text for the alias, such as 'retry: { max_attempts: 3, initial_interval: 50ms }'.
sim_connections() {
  export SIM_TOKEN="$TOKEN"
  cat > "$WORK/connections.yaml" <<YAML
aliases:
  okta: { connection: sim${1:+, $1} }
connections:
  sim: { base_url: "$BASE", credential: sim_token, allow_insecure_http: true }
credentials:
  sim_token: { type: okta_api_token, token: { env: SIM_TOKEN } }
YAML
  export SPOKEFLOW_CONNECTIONS="$WORK/connections.yaml"
}
# okta ARGS...: curl to okta-sim with the test's token.
okta() { curl -s -H "Authorization: SSWS $TOKEN" -H "Accept: application/json" -H "Content-Type: application/json" "$@"; }
