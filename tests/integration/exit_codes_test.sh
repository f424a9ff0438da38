#!/usr/bin/env bash
# Exit codes (README "Exit codes"): 0 succeeded, 1 the flow failed on its own terms, 2 invalid
# input, 3 the environment (connections file, secret, master key, store, unreachable host, Okta
# refusing the credential). Each code is checked through the real CLI against okta-sim.
source "$(dirname "$0")/lib.sh"
: "${OKTA_SIM:?path to the okta-sim binary}"
SF="$SPOKEFLOW"
cd "$WORK"

TOKEN="sim-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export SPOKEFLOW_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SPOKEFLOW_VAULT="$WORK/vault.json"
export SPOKEFLOW_MASTER_KEY_FILE="$WORK/no-such-key-file"
cat > "$WORK/seed.yaml" <<'YAML'
admin: { login: admin@example.com, firstName: Ada, lastName: Admin }
users:
  - { login: alice@example.com, firstName: Alice, lastName: Smith, password: Alice-Passw0rd }
YAML
start_sim --seed "$WORK/seed.yaml"
trap 'kill $SIM_PID 2>/dev/null || true; wait $SIM_PID 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
sim_listening

printf '%s\n' "$TOKEN" | "$SF" secrets set sim_token > /dev/null
printf '%s\n' "wrong-$TOKEN" | "$SF" secrets set wrong_token > /dev/null
# connections FILE BASE_URL SECRET: one alias `okta`, one attempt per call (no retry waits).
connections() {
  cat > "$1" <<YAML
aliases:
  okta: { connection: org, retry: { max_attempts: 1 } }
connections:
  org: { base_url: "$2", credential: tok, allow_insecure_http: true }
credentials:
  tok: { type: okta_api_token, token: { secret: $3 } }
YAML
}
connections "$WORK/good.yaml" "$BASE" sim_token
connections "$WORK/wrong-token.yaml" "$BASE" wrong_token
connections "$WORK/unreachable.yaml" "http://127.0.0.1:9" sim_token
connections "$WORK/missing-secret.yaml" "$BASE" no_such_secret
cat > "$WORK/who.yaml" <<'YAML'
name: who
connection: okta
inputs:
  user: { type: string, required: true }
steps:
  - id: get
    action: okta.get_user
    with: { user_id: "${{ inputs.user }}" }
YAML
cat > "$WORK/broken.yaml" <<'YAML'
name: broken
connection: okta
steps:
  - id: get
    action: okta.get_user
    with: { user_id: "${{ inputs.nobody }}" }
YAML
# sf CONNECTIONS ARGS...: the CLI with that connections file
sf() { local c=$1; shift; run_stdout "$SF" --connections "$c" "$@"; }

echo "0: succeeded"
sf "$WORK/good.yaml" run "$WORK/who.yaml" --input user=alice@example.com
expect_eq "run of a flow that succeeds exits 0" 0 "$RC"
sf "$WORK/good.yaml" connections test okta
expect_eq "connections test that passes exits 0" 0 "$RC"

echo "1: the flow failed on its own terms"
sf "$WORK/good.yaml" run "$WORK/who.yaml" --input user=nobody@example.com --json
expect_eq "a user that does not exist fails the flow: exit 1" 1 "$RC"
expect_eq "...with Okta's error" okta "$(echo "$OUT" | jq -r .error.kind)"

echo "2: invalid input"
sf "$WORK/good.yaml" run "$WORK/who.yaml"
expect_eq "a missing required input exits 2" 2 "$RC"
sf "$WORK/good.yaml" validate "$WORK/broken.yaml"
expect_eq "a flow with errors exits 2 on validate" 2 "$RC"
sf "$WORK/none.yaml" run "$WORK/broken.yaml"
expect_eq "a flow with errors exits 2 even when the connections file is missing too" 2 "$RC"
sf "$WORK/good.yaml" connections test nope
expect_eq "connections test of an unknown alias exits 2" 2 "$RC"

echo "3: the environment"
sf "$WORK/none.yaml" run "$WORK/who.yaml" --input user=alice@example.com
expect_eq "run without the connections file exits 3" 3 "$RC"
expect_contains "...saying so" "cannot read connections file $WORK/none.yaml" "$ERR"
sf "$WORK/none.yaml" run "$WORK/who.yaml" --input user=alice@example.com --json
expect_eq "...and with --json too" 3 "$RC"
expect_eq "...whose status says it is the environment" environment "$(echo "$OUT" | jq -r .status)"
sf "$WORK/none.yaml" validate "$WORK/who.yaml"
expect_eq "validate without the (explicit) connections file exits 3" 3 "$RC"
sf "$WORK/none.yaml" connections list
expect_eq "connections list without the connections file exits 3" 3 "$RC"
sf "$WORK/none.yaml" connections test okta
expect_eq "connections test without the connections file exits 3" 3 "$RC"
sf "$WORK/missing-secret.yaml" run "$WORK/who.yaml" --input user=alice@example.com
expect_eq "run with a secret missing from the vault exits 3" 3 "$RC"
expect_contains "...naming the secret" "no_such_secret" "$ERR"
sf "$WORK/missing-secret.yaml" validate "$WORK/who.yaml"
expect_eq "validate with a secret missing exits 3" 3 "$RC"
(unset SPOKEFLOW_MASTER_KEY; run_stdout "$SF" --connections "$WORK/good.yaml" run "$WORK/who.yaml" --input user=alice@example.com
 echo "$RC" > "$WORK/nokey.rc")
expect_eq "run without the master key exits 3" 3 "$(cat "$WORK/nokey.rc")"
: > "$WORK/a-file"
sf "$WORK/good.yaml" --store "$WORK/a-file/store.db" run "$WORK/who.yaml" --input user=alice@example.com
expect_eq "run with a store that cannot be opened exits 3" 3 "$RC"
sf "$WORK/good.yaml" --store "$WORK/a-file/store.db" executions list
expect_eq "executions list with a store that cannot be opened exits 3" 3 "$RC"
sf "$WORK/unreachable.yaml" run "$WORK/who.yaml" --input user=alice@example.com --json
expect_eq "run against an unreachable host exits 3" 3 "$RC"
expect_eq "...the execution failed with a network error" "failed network" "$(echo "$OUT" | jq -r '"\(.status) \(.error.kind)"')"
sf "$WORK/unreachable.yaml" connections test okta
expect_eq "connections test of an unreachable host exits 3" 3 "$RC"
sf "$WORK/wrong-token.yaml" run "$WORK/who.yaml" --input user=alice@example.com --json
expect_eq "run with a token Okta refuses (401) exits 3" 3 "$RC"
expect_eq "...the execution failed with an auth error" "failed auth" "$(echo "$OUT" | jq -r '"\(.status) \(.error.kind)"')"
sf "$WORK/wrong-token.yaml" connections test okta
expect_eq "connections test with a token Okta refuses exits 3" 3 "$RC"
expect_contains "...saying why" "auth" "$OUT"
sf "$WORK/good.yaml" run "$WORK/who.yaml" --input user=alice@example.com --lease 5
expect_eq "a malformed --lease is bad usage (2), not the environment" 2 "$RC"
# auth login cannot take its redirect port (okta-sim holds it): the sign-in cannot happen here.
cat > "$WORK/login.yaml" <<YAML
aliases:
  okta: { connection: org }
connections:
  org: { base_url: "$BASE", credential: web, allow_insecure_http: true }
credentials:
  web:
    type: okta_oauth_refresh
    client_id: 0oaexitcodetest
    client_secret: { env: EXIT_TEST_CLIENT_SECRET }
    refresh_token: { secret: login_refresh }
    redirect_port: ${BASE##*:}
    scopes: [okta.users.read]
YAML
EXIT_TEST_CLIENT_SECRET=not-a-real-secret sf "$WORK/login.yaml" auth login okta
expect_eq "auth login that cannot sign in (its redirect port taken) exits 3" 3 "$RC"
expect_contains "...saying why" "cannot listen on 127.0.0.1:${BASE##*:}" "$ERR"
finish
