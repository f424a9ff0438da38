#!/usr/bin/env bash
# Values that nest deeply or run long, through the real CLI (issue 16, part 1, item 2): each
# gives a clear error, exit 2 for bad input or a failed step, never a crash, and the store
# stays usable afterwards.
source "$(dirname "$0")/lib.sh"
: "${OKTA_SIM:?path to the okta-sim binary}"
SF="$SPOKEFLOW_TEST"
cd "$WORK"

# repeat N TEXT: TEXT written N times (one byte long)
repeat() { head -c "$1" /dev/zero | tr '\0' "$2"; }
# nested N: a JSON array nested N levels deep
nested() { repeat "$1" '['; repeat "$1" ']'; }
# store_usable WHAT: a later run on the same store succeeds, and no execution was left behind
store_usable() {
  run_capture "$SF" run ender --flows-dir "$FLOWS" --json
  expect_eq "$1: a later run on the same store succeeds" 0 "$RC"
  run_capture "$SF" resume --flows-dir "$FLOWS"
  expect_eq "$1: nothing is left to resume" "0 nothing to resume" "$RC $OUT"
}
LIMIT="nested more than 128 levels deep"
# Each part has a store of its own, so that one part's crash cannot hide what the next does.

echo "fromJSON of an array 70,000 levels deep"
export SPOKEFLOW_STORE="$WORK/fromjson.db"
{ printf '{"text": "'; nested 70000; printf '"}'; } > deep_text.json
run_capture "$SF" run deep_values --flows-dir "$FLOWS" --inputs-file deep_text.json --json
expect_eq "the flow fails (exit 1)" 1 "$RC"
expect_eq "...at the step that called fromJSON" parse "$(echo "$OUT" | jq -r .error.step 2>/dev/null)"
expect_contains "...saying why" "fromJSON() could not read its argument as JSON: values are $LIMIT" "$OUT"
store_usable "fromJSON"
{ printf '{"text": "'; nested 128; printf '"}'; } > limit_text.json
run_capture "$SF" run deep_values --flows-dir "$FLOWS" --inputs-file limit_text.json --json
expect_eq "fromJSON of 128 levels is fine" 0 "$RC"

echo "inputs nested deeply"
export SPOKEFLOW_STORE="$WORK/inputs.db"
before=$(execution_count)
{ printf '{"data": '; nested 100000; printf '}'; } > deep_data.json
expect_eq "the inputs file is 200 KB" 200010 "$(wc -c < deep_data.json)"
run_capture "$SF" run deep_values --flows-dir "$FLOWS" --inputs-file deep_data.json
expect_eq "an inputs file of arrays 100,000 levels deep exits 2" 2 "$RC"
expect_contains "...saying which file and why" "inputs file deep_data.json: values are $LIMIT" "$OUT"
{ printf '{"data": '; nested 128; printf '}'; } > over_data.json
run_capture "$SF" run deep_values --flows-dir "$FLOWS" --inputs-file over_data.json
expect_eq "an inputs file 129 levels deep exits 2" 2 "$RC"
run_capture "$SF" run deep_values --flows-dir "$FLOWS" --input "data=$(nested 60000)"
expect_eq "--input of arrays 60,000 levels deep exits 2" 2 "$RC"
expect_contains "...saying which input and why" "input 'data': values are $LIMIT" "$OUT"
run_capture "$SF" run deep_values --flows-dir "$FLOWS" --input "data=$(nested 129)"
expect_eq "--input of 129 levels exits 2" 2 "$RC"
expect_eq "nothing written to the store" "$before" "$(execution_count)"
run_capture "$SF" run deep_values --flows-dir "$FLOWS" --input "data=$(nested 128)" --json
expect_eq "--input of 128 levels runs" "0 succeeded" "$RC $(echo "$OUT" | jq -r .status 2>/dev/null)"
{ printf '{"data": '; nested 127; printf '}'; } > limit_data.json
run_capture "$SF" run deep_values --flows-dir "$FLOWS" --inputs-file limit_data.json --json
expect_eq "an inputs file 128 levels deep runs" "0 succeeded" "$RC $(echo "$OUT" | jq -r .status 2>/dev/null)"
store_usable "deep inputs"

echo "long strings checked by patterns"
export SPOKEFLOW_STORE="$WORK/strings.db"
LONG=$(repeat 60000 a)
printf 'name: %s\nsteps:\n  - action: core.noop\n' "$LONG" > long_name.yaml
run_capture "$SF" validate long_name.yaml
expect_eq "validate of a flow named with 60,000 letters passes" 0 "$RC"
printf 'name: %sX\nsteps:\n  - action: core.noop\n' "$LONG" > long_bad_name.yaml
run_capture "$SF" validate long_bad_name.yaml
expect_eq "validate of a 60,001-character name that breaks the pattern exits 2" 2 "$RC"
expect_contains "...saying what is wrong" "use lowercase letters, digits and _, starting with a letter" "$OUT"
run_capture "$SF" run deep_values --flows-dir "$FLOWS" --input "email=$LONG@example.com" --json
expect_eq "a 60,000-character email address is checked and runs" 0 "$RC"
run_capture "$SF" run deep_values --flows-dir "$FLOWS" --input "email=$LONG"
expect_eq "a 60,000-character non-address exits 2" 2 "$RC"
expect_contains "...saying which input" "input 'email' must be an email address" "$OUT"
run_capture "$SF" run deep_values --flows-dir "$FLOWS" --input "duration=$(repeat 60000 1)x" --json
expect_eq "a 60,001-character duration fails the step mid-run (exit 1)" 1 "$RC"
expect_eq "...at the step" pause "$(echo "$OUT" | jq -r .error.step 2>/dev/null)"
expect_contains "...saying which input" "inputs of core.wait do not fit its schema: /duration" "$OUT"
store_usable "long strings"

echo "expressions nested 100,000 levels deep"
export SPOKEFLOW_STORE="$WORK/expressions.db"
for shape in parens bangs index; do
  case $shape in
    parens) expr="$(repeat 100000 '(')1$(repeat 100000 ')')" ;;
    bangs) expr="$(repeat 100000 '!')true" ;;
    index) expr="$(for _ in $(seq 1 20000); do printf 'a[a['; done)0$(repeat 40000 ']')" ;;
  esac
  printf 'name: deep_expr\nsteps:\n  - action: core.echo\n    with: { v: "${{ %s }}" }\n' "$expr" > "deep_$shape.yaml"
  run_capture "$SF" validate "deep_$shape.yaml"
  expect_eq "$shape: validate exits 2" 2 "$RC"
  expect_contains "$shape: ...saying why" "expression is nested too deeply" "$OUT"
done
printf 'name: deep_yaml\nsteps:\n  - action: core.echo\n    with: { v: %s }\n' "$(nested 100000)" > deep_yaml.yaml
run_capture "$SF" validate deep_yaml.yaml
expect_eq "a flow file nested 100,000 levels deep exits 2" 2 "$RC"
# The root mapping, steps, the step and with are four levels.
printf 'name: deep_yaml\nsteps:\n  - action: core.echo\n    with: { v: %s }\n' "$(nested 124)" > limit_yaml.yaml
run_capture "$SF" validate limit_yaml.yaml
expect_eq "a flow file nested 128 levels deep validates" 0 "$RC"
printf 'name: deep_yaml\nsteps:\n  - action: core.echo\n    with: { v: %s }\n' "$(nested 125)" > over_yaml.yaml
run_capture "$SF" validate over_yaml.yaml
expect_eq "a flow file nested 129 levels deep exits 2" 2 "$RC"
expect_contains "...saying why" "values are $LIMIT" "$OUT"

echo "a variable nested one level deeper on every iteration"
export SPOKEFLOW_STORE="$WORK/loop.db"
run_capture "$SF" run deep_loop --flows-dir "$FLOWS" --json
expect_eq "the flow fails (exit 1)" 1 "$RC"
expect_contains "...at the limit, not at max_iterations" "$LIMIT" "$(echo "$OUT" | jq -r .error.message 2>/dev/null)"
store_usable "deep variable"

echo "a deeply nested Okta answer"
export SPOKEFLOW_STORE="$WORK/okta.db"
TOKEN="sim-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export SPOKEFLOW_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SPOKEFLOW_VAULT="$WORK/vault.json"
export SPOKEFLOW_MASTER_KEY_FILE="$WORK/no-such-key-file"
cat > seed.yaml <<'YAML'
schema:
  custom:
    tags: { type: array }
YAML
start_sim --seed "$WORK/seed.yaml"
trap 'kill $SIM_PID 2>/dev/null || true; wait $SIM_PID 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
sim_listening
{ printf '{"profile": {"login": "deep@example.com", "email": "deep@example.com", "firstName": "D", "lastName": "P", "tags": '
  nested 300; printf '}}'; } > deep_user.json
created=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: SSWS $TOKEN" -H "Content-Type: application/json" \
  --data-binary @deep_user.json "$BASE/api/v1/users?activate=false")
expect_eq "okta-sim holds a user with a profile 300 levels deep" 200 "$created"
printf '%s\n' "$TOKEN" | "$SF" secrets set sim_token > /dev/null
cat > connections.yaml <<YAML
aliases:
  okta: { connection: sim, retry: { max_attempts: 2, initial_interval: 10ms } }
connections:
  sim: { base_url: "$BASE", credential: sim_token, allow_insecure_http: true }
credentials:
  sim_token: { type: okta_api_token, token: { secret: sim_token } }
YAML
export SPOKEFLOW_CONNECTIONS="$WORK/connections.yaml"
run_capture "$SF" run deep_okta --flows-dir "$FLOWS" --input login=deep@example.com --json
expect_eq "the step reading it fails (exit 1)" 1 "$RC"
expect_eq "...at the step" get "$(echo "$OUT" | jq -r .error.step 2>/dev/null)"
expect_contains "...saying why" "values are $LIMIT" "$(echo "$OUT" | jq -r .error.message 2>/dev/null)"
store_usable "deep Okta answer"
run_capture "$SF" run onboard_user --flows-dir "$SRC_DIR/flows" --input "email=$LONG" --input first_name=L --input last_name=E
expect_eq "onboard_user with a 60,000-character non-address exits 2" 2 "$RC"
expect_contains "...saying which input" "input 'email' must be an email address" "$OUT"
store_usable "onboard_user"

finish
