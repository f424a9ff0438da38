#!/usr/bin/env bash
# Issue 21: each alias's effective calls-in-flight cap (and what sets it) in `connections list`,
# and a warning from `validate` and `run` when a for_each asks for more concurrency than the cap
# of an alias used by a step inside it.
source "$(dirname "$0")/lib.sh"
: "${OKTA_SIM:?path to the okta-sim binary}"

TOKEN="sim-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export SPOKEFLOW_MASTER_KEY_FILE="$WORK/no-such-key-file"
start_sim
trap 'kill $SIM_PID 2>/dev/null || true; wait $SIM_PID 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
cd "$WORK"
sim_listening
sim_connections

mkdir -p flows
# The okta step is nested in a block inside the loop: the check looks through nested steps.
cat > flows/wide.yaml <<'YAML'
name: wide
inputs:
  ids: { type: array, default: [] }
steps:
  - id: users
    for_each: ${{ inputs.ids }}
    concurrency: 200
    steps:
      - id: inner
        steps:
          - id: fetch
            action: okta.get_user
            with: { user_id: "${{ item }}" }
YAML
# Within the default cap: no warning.
sed 's/concurrency: 200/concurrency: 16/; s/^name: wide/name: narrow/' flows/wide.yaml > flows/narrow.yaml

echo "connections list: the default cap"
run_stdout "$SPOKEFLOW" connections list
expect_eq "list exits 0" 0 "$RC"
expect_contains "list has a cap column" "CALLS IN FLIGHT" "$OUT"
expect_contains "list shows the default cap and its source" "16 (default)" "$OUT"
run_stdout "$SPOKEFLOW" connections list --json
expect_eq "list --json: cap" 16 "$(jq -r '.aliases[] | select(.alias == "okta") | .max_calls_in_flight' <<<"$OUT")"
expect_eq "list --json: source" default "$(jq -r '.aliases[] | select(.alias == "okta") | .max_calls_in_flight_source' <<<"$OUT")"

WARNING="flows/wide.yaml:5:5: warning: for_each 'users' runs up to 200 iterations at once, but its step 'fetch' uses alias 'okta', which allows 16 calls in flight (connection 'sim' sets no max_concurrency: the HTTP client's default); set max_concurrency on connection 'sim' to allow more"

echo "validate: warns, exit code unchanged"
run_capture "$SPOKEFLOW" validate flows/wide.yaml
expect_eq "validate exits 0" 0 "$RC"
expect_contains "validate warns with file:line:col, step and alias" "$WARNING" "$OUT"
expect_contains "the flow is still ok" "flows/wide.yaml: ok" "$OUT"
run_stdout "$SPOKEFLOW" validate --json flows/wide.yaml
expect_eq "validate --json exits 0" 0 "$RC"
expect_eq "validate --json lists the warning" "5:5 true" \
  "$(jq -r '.[0].warnings[0] | "\(.line):\(.col) \(.message | contains("alias '"'"'okta'"'"', which allows 16"))"' <<<"$OUT")"
run_capture "$SPOKEFLOW" validate flows/narrow.yaml
expect_eq "validate narrow exits 0" 0 "$RC"
expect_not_contains "no warning at concurrency 16" "warning:" "$OUT"

echo "run: warns, exit code unchanged"
run_capture "$SPOKEFLOW" run flows/wide.yaml
expect_eq "run exits 0" 0 "$RC"
expect_contains "run warns" "$WARNING" "$OUT"

echo "the connection sets max_concurrency: 500"
sed -i 's/allow_insecure_http: true }/allow_insecure_http: true, max_concurrency: 500 }/' connections.yaml
run_stdout "$SPOKEFLOW" connections list
expect_contains "list shows the connection's cap" "500 (connection)" "$OUT"
run_capture "$SPOKEFLOW" validate flows/wide.yaml
expect_eq "validate exits 0" 0 "$RC"
expect_not_contains "no warning below the connection's cap" "warning:" "$OUT"
run_capture "$SPOKEFLOW" run flows/wide.yaml
expect_eq "run exits 0" 0 "$RC"
expect_not_contains "run: no warning below the connection's cap" "warning:" "$OUT"

echo "the alias caps below its connection"
sed -i 's/okta: { connection: sim }/okta: { connection: sim, max_concurrency: 50 }/' connections.yaml
run_stdout "$SPOKEFLOW" connections list --json
expect_eq "list --json: the alias's cap" "50 alias" \
  "$(jq -r '.aliases[] | select(.alias == "okta") | "\(.max_calls_in_flight) \(.max_calls_in_flight_source)"' <<<"$OUT")"
run_capture "$SPOKEFLOW" validate flows/wide.yaml
expect_contains "validate names the alias's own cap" \
  "which allows 50 calls in flight (alias 'okta' sets max_concurrency: 50); raise max_concurrency on alias 'okta' to allow more" "$OUT"

finish
