#!/usr/bin/env bash
# The web view (issue 20) in Chromium: tests/browser/ui_test.mjs signs in, runs flows from their
# forms and follows them live, retries a failed one, filters and searches, checks what a viewer
# may do, CSRF, that a sensitive input never reaches the browser, and sign-out; it prints
# `ui-bench:` for an execution with 10,001 step runs and leaves screenshots in
# $SRC_DIR/build/ui-screenshots. Needs /usr/bin/chromium and tests/browser/node_modules
# (scripts/setup.sh installs both): without them it fails, it never skips.
source "$(dirname "$0")/lib.sh"
: "${OKTA_SIM:?path to the okta-sim binary}"
SF="$SPOKEFLOW_TEST"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
BROWSER_DIR="$TEST_DIR/browser"
missing=
[ -x "$CHROMIUM" ] || missing="$missing $CHROMIUM"
[ -f "$BROWSER_DIR/node_modules/playwright-core/package.json" ] || missing="$missing $BROWSER_DIR/node_modules/playwright-core"
command -v node > /dev/null || missing="$missing node"
if [ -n "$missing" ]; then
  echo "FAIL: the browser test needs:$missing (run scripts/setup.sh)"
  exit 1
fi
cd "$WORK"
export SPOKEFLOW_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SPOKEFLOW_VAULT="$WORK/vault.json"
TOKEN=sim-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
export HOOK_SECRET="hook-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

start_sim
SERVE_PID=
NODE_PID=
cleanup() {
  [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null
  kill "$SIM_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
sim_listening
sim_connections

new_token() { "$SF" tokens create "$1" --role "$2" | tail -1; }
export ADMIN_NAME=ui-admin OPERATOR_NAME=ui-operator VIEWER_NAME=ui-viewer
export ADMIN_TOKEN=$(new_token ui-admin admin)
export OPERATOR_TOKEN=$(new_token ui-operator operator)
export VIEWER_TOKEN=$(new_token ui-viewer viewer)

cat > serve.yaml <<YAML
listen: 127.0.0.1:0
flows_dir: $TEST_DIR/integration/ui_flows
worker: { concurrency: 16 }
hooks:
  okta: { authorization: { env: HOOK_SECRET } }
YAML
"$SF" serve --config serve.yaml > serve.out 2> serve.err &
SERVE_PID=$!
wait_for 60 grep -q '^listening on ' serve.out || { echo "serve did not start"; cat serve.err; exit 1; }
export BASE_URL=$(sed -n 's/^listening on //p' serve.out | head -1)
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE_URL/ui/session")
if [ "$code" != 401 ]; then
  echo "FAIL: GET /ui/session answered $code, not 401: this serve has no web view"
  exit 1
fi

export SCREENSHOT_DIR="$SRC_DIR/build/ui-screenshots"
export WORK_DIR="$WORK"
export CHROMIUM
mkdir -p "$SCREENSHOT_DIR"
# The whole browser run is bounded (CTest's own timeout is 300 s).
set +e
timeout -k 5 150 node "$BROWSER_DIR/ui_test.mjs" &
NODE_PID=$!
wait "$NODE_PID"
rc=$?
NODE_PID=
set -e
if [ "$rc" -eq 124 ]; then
  echo "FAIL: the browser test did not finish within 150 s"
fi
if [ "$rc" -ne 0 ]; then
  echo "--- serve's log (last lines)"
  tail -20 serve.err
fi
exit "$rc"
