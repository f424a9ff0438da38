#!/usr/bin/env bash
# The flows that ship (flows/), run through the real CLI against okta-sim, checking the
# simulator's resulting state; and a search of everything written for the secrets used.
source "$(dirname "$0")/lib.sh"
: "${OKTA_SIM:?path to the okta-sim binary}"

TOKEN="sim-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export SPOKEFLOW_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SPOKEFLOW_VAULT="$WORK/vault.json"
export SPOKEFLOW_MASTER_KEY_FILE="$WORK/no-such-key-file"

cat > "$WORK/seed.yaml" <<'YAML'
admin: { login: admin@example.com, firstName: Ada, lastName: Admin }
groups:
  - { name: Engineering }
  - { name: Eng }
  - { name: Sales }
users:
  - { login: alice@example.com, firstName: Alice, lastName: Smith, password: Alice-Passw0rd, groups: [Engineering], lastLogin: "2025-06-01T09:00:00.000Z" }
  - { login: dave@example.com, firstName: Dave, lastName: Doe, password: Dave-Passw0rd, groups: [Engineering, Sales] }
  - { login: frank@example.com, firstName: Frank, lastName: Fox, password: Frank-Passw0rd, groups: [Sales, Eng] }
  - { login: erin@example.com, firstName: Erin, lastName: Ek, password: Erin-Passw0rd, lastLogin: "2025-03-01T09:00:00.000Z" }
  - { login: gina@example.com, firstName: Gina, lastName: Gray, password: Gina-Passw0rd, lastLogin: "2025-11-30T23:59:59.000Z" }
apps:
  - { label: Company Wiki, url: "https://wiki.example.com", users: [dave@example.com] }
  - { label: CRM, url: "https://crm.example.com", users: [dave@example.com, alice@example.com] }
YAML

start_sim --seed "$WORK/seed.yaml"
trap 'kill $SIM_PID 2>/dev/null || true; wait $SIM_PID 2>/dev/null || true; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT
sim_listening

user_json() { okta "$BASE/api/v1/users/$1"; }
user_status() { user_json "$1" | jq -r .status; }
user_group_names() { okta "$BASE/api/v1/users/$1/groups" | jq -r '[.[].profile.name] | sort | join(",")'; }
app_id() { okta "$BASE/api/v1/apps?q=$(jq -rn --arg v "$1" '$v|@uri')" | jq -r --arg l "$1" '.[] | select(.label == $l) | .id'; }
user_app_labels() { okta "$BASE/api/v1/apps?filter=user.id+eq+%22$1%22" | jq -r '[.[].label] | sort | join(",")'; }

# The token lives in the vault; the connections file names it only.
printf '%s\n' "$TOKEN" | "$SPOKEFLOW" secrets set sim_token > /dev/null
cat > "$WORK/connections.yaml" <<YAML
aliases:
  okta: { connection: sim, retry: { max_attempts: 3, initial_interval: 100ms } }
connections:
  sim: { base_url: "$BASE", credential: sim_token, allow_insecure_http: true }
credentials:
  sim_token: { type: okta_api_token, token: { secret: sim_token } }
YAML
export SPOKEFLOW_CONNECTIONS="$WORK/connections.yaml"
LOG="$WORK/all-output.txt"
: > "$LOG"
sf() {
  local cmd=$1; shift
  run_stdout "$SPOKEFLOW" --log-level trace "$cmd" --flows-dir "$SRC_DIR/flows" "$@"
  printf '%s\n%s\n' "$OUT" "$ERR" >> "$LOG"
}

echo "# connections"
run_stdout "$SPOKEFLOW" connections test okta
expect_eq "connections test exits 0" 0 "$RC"
expect_contains "connections test names the token's user" "admin@example.com" "$OUT"
run_stdout "$SPOKEFLOW" connections list --json
expect_eq "connections list shows the alias" "okta_api_token" "$(echo "$OUT" | jq -r '.aliases[0].credential_type')"
printf '%s\n%s\n' "$OUT" "$ERR" >> "$LOG"

echo "# validate every shipped flow against the connections"
for f in "$SRC_DIR"/flows/*.yaml; do
  run_stdout "$SPOKEFLOW" validate --flows-dir "$SRC_DIR/flows" "$f"
  expect_eq "validate $(basename "$f")" 0 "$RC"
  [ "$RC" -eq 0 ] || echo "$ERR"
done

echo "# onboard_user"
WIKI=$(app_id "Company Wiki"); CRM=$(app_id "CRM")
jq -n --arg a "$WIKI" --arg b "$CRM" '{app_ids: [$a, $b]}' > "$WORK/apps.json"
sf run onboard_user --input email=nina@example.com --input first_name=Nina --input last_name=New \
  --input department=Eng --inputs-file "$WORK/apps.json" --json
expect_eq "onboard_user exits 0" 0 "$RC"
[ "$RC" -eq 0 ] || echo "$OUT $ERR" | tail -20
NINA=$(echo "$OUT" | jq -r .outputs.user_id)
expect_eq "nina is PROVISIONED (activated, waiting for her)" "PROVISIONED" "$(user_status "$NINA")"
expect_eq "nina is in Eng (exact name, not Engineering)" "Eng,Everyone" "$(user_group_names "$NINA")"
expect_eq "nina has both apps" "CRM,Company Wiki" "$(user_app_labels "$NINA")"
expect_eq "the activation link is redacted in the output" "[REDACTED]" "$(echo "$OUT" | jq -r .outputs.activation_url)"
EXEC=$(echo "$OUT" | jq -r .execution_id)
run_stdout "$SPOKEFLOW" executions show "$EXEC" --json
expect_not_contains "no sealed copy is shown" '$sealed' "$OUT"
expect_eq "stored flow outputs show the link redacted" "[REDACTED]" "$(echo "$OUT" | jq -r .outputs.activation_url)"
printf '%s\n' "$OUT" >> "$LOG"
run_stdout "$SPOKEFLOW" executions show "$EXEC" --json --reveal
ACTIVATION=$(echo "$OUT" | jq -r .outputs.activation_url)
expect_contains "--reveal opens the sealed activation link" "$BASE/" "$ACTIVATION"
expect_contains "--reveal says it shows secrets" "showing sensitive values in clear" "$ERR"
SENSITIVE=("$ACTIVATION")
sf run onboard_user --input email=nina@example.com --input first_name=Nina --input last_name=New --input department=Eng --json
expect_eq "onboard_user again converges" 0 "$RC"
expect_eq "...and says the user already existed" "true" "$(echo "$OUT" | jq -r .outputs.already_existed)"
# This is what a retried or resumed execution sees when its first activate landed and the answer
# (with the link) was lost: the flow asked for the link, so it must come back, not null.
expect_eq "...and still returns an activation link" "[REDACTED]" "$(echo "$OUT" | jq -r .outputs.activation_url)"
EXEC2=$(echo "$OUT" | jq -r .execution_id)
run_stdout "$SPOKEFLOW" executions show "$EXEC2" --json --reveal
ACTIVATION2=$(echo "$OUT" | jq -r .outputs.activation_url)
expect_contains "...a usable one" "$BASE/" "$ACTIVATION2"
expect_eq "...and a fresh one (Okta's reactivate)" "true" "$([ "$ACTIVATION2" != "$ACTIVATION" ] && echo true)"
expect_eq "nina is still PROVISIONED" "PROVISIONED" "$(user_status "$NINA")"
SENSITIVE+=("$ACTIVATION2")
# A user who is already ACTIVE can have no activation link: the flow fails and says why.
OLGA='{"profile":{"login":"olga@example.com","email":"olga@example.com","firstName":"Olga","lastName":"Old"},
       "credentials":{"password":{"value":"Str0ng-Secret-9"}}}'
okta -X POST "$BASE/api/v1/users?activate=true" -d "$OLGA" > /dev/null
expect_eq "olga is ACTIVE" "ACTIVE" "$(user_status olga@example.com)"
sf run onboard_user --input email=olga@example.com --input first_name=Olga --input last_name=Old --json
expect_eq "onboard_user of an ACTIVE user fails rather than succeed without a link" 1 "$RC"
expect_eq "...with code no_activation_link" "no_activation_link" "$(echo "$OUT" | jq -r .error.code)"
expect_eq "...at the activate step" "activate" "$(echo "$OUT" | jq -r .error.step)"
expect_contains "...saying the user is ACTIVE" "status is ACTIVE" "$(echo "$OUT" | jq -r .error.message)"

echo "# add_user_to_group"
sf run add_user_to_group --input login=alice@example.com --input group=Sales --json
expect_eq "add_user_to_group exits 0" 0 "$RC"
expect_eq "alice is in Sales" "Engineering,Everyone,Sales" "$(user_group_names alice@example.com)"
sf run add_user_to_group --input login=alice@example.com --input group=Sales --json
expect_eq "adding again converges" 0 "$RC"
sf run add_user_to_group --input login=alice@example.com --input group=Nope --json
expect_eq "an unknown group fails the flow" 1 "$RC"
expect_contains "...saying which group" "no Okta group named Nope" "$OUT"

echo "# offboard_user"
sf run offboard_user --input user=dave@example.com --json
expect_eq "offboard_user exits 0" 0 "$RC"
[ "$RC" -eq 0 ] || echo "$OUT $ERR" | tail -20
expect_eq "dave is DEPROVISIONED" "DEPROVISIONED" "$(user_status dave@example.com)"
DAVE=$(user_json dave@example.com | jq -r .id)
expect_eq "dave is only in Everyone" "Everyone" "$(user_group_names "$DAVE")"
expect_eq "dave has no apps" "" "$(user_app_labels "$DAVE")"
sf run offboard_user --input user=dave@example.com --input delete=true --json
expect_eq "offboard_user again, with delete, converges" 0 "$RC"
[ "$RC" -eq 0 ] || echo "$OUT $ERR" | tail -20
expect_eq "dave is gone" "E0000007" "$(user_json "$DAVE" | jq -r .errorCode)"

echo "# remove_group_memberships_on_deactivation"
FRANK=$(user_json frank@example.com | jq -r .id)
okta -X POST "$BASE/api/v1/users/$FRANK/lifecycle/deactivate" > /dev/null
sf run remove_group_memberships_on_deactivation --input user_id="$FRANK" --json
expect_eq "remove_group_memberships_on_deactivation exits 0" 0 "$RC"
expect_eq "frank is only in Everyone" "Everyone" "$(user_group_names "$FRANK")"

echo "# sync_groups"
sf run sync_groups --json
expect_eq "sync_groups (all) exits 0" 0 "$RC"
expect_eq "all four groups read" 4 "$(echo "$OUT" | jq -r .outputs.count)"
SINCE=$(echo "$OUT" | jq -r .outputs.next_since)
sleep 1.1
SALES=$(okta "$BASE/api/v1/groups?q=Sales" | jq -r '.[0].id')
okta -X PUT -d '{"profile":{"name":"Sales","description":"changed"}}' "$BASE/api/v1/groups/$SALES" > /dev/null
sf run sync_groups --input since="$SINCE" --json
expect_eq "sync_groups (delta) exits 0" 0 "$RC"
expect_eq "only the changed group is read" "Sales" "$(echo "$OUT" | jq -r '[.outputs.groups[].name] | join(",")')"

echo "# bulk_deactivate_inactive_users"
CUTOFF="2026-01-01T00:00:00.000Z"
echo '{"keep": ["erin@example.com"]}' > "$WORK/keep.json"
sf run bulk_deactivate_inactive_users --input last_login_before=$CUTOFF --json
expect_eq "dry run exits 0" 0 "$RC"

expect_eq "dry run matches the active users who last signed in before the cutoff" "alice@example.com,erin@example.com,gina@example.com" "$(echo "$OUT" | jq -r '.outputs.logins | sort | join(",")')"
expect_eq "dry run deactivates nobody" "ACTIVE" "$(user_status gina@example.com)"
sf run bulk_deactivate_inactive_users --input last_login_before=$CUTOFF --input dry_run=false \
  --inputs-file "$WORK/keep.json" --json
expect_eq "real run exits 0" 0 "$RC"
expect_eq "gina deactivated" "DEPROVISIONED" "$(user_status gina@example.com)"
expect_eq "alice deactivated" "DEPROVISIONED" "$(user_status alice@example.com)"
expect_eq "erin kept" "ACTIVE" "$(user_status erin@example.com)"
expect_eq "admin (signed in today) not touched" "ACTIVE" "$(user_status admin@example.com)"

echo "# unlock_if_locked"
curl -s -X POST "$BASE/__sim/users/erin@example.com/lock" > /dev/null
expect_eq "erin is locked" "LOCKED_OUT" "$(user_status erin@example.com)"
sf run unlock_if_locked --input user=erin@example.com --json
expect_eq "unlock_if_locked exits 0" 0 "$RC"
expect_eq "it saw the lock" "true" "$(echo "$OUT" | jq -r .outputs.was_locked)"
expect_eq "erin is ACTIVE again" "ACTIVE" "$(user_status erin@example.com)"
sf run unlock_if_locked --input user=erin@example.com --json
expect_eq "a user who is not locked is left alone" "false" "$(echo "$OUT" | jq -r .outputs.was_locked)"

echo "# password_reset"
sf run password_reset --input user=erin@example.com --input method=link --json
expect_eq "password_reset (link) exits 0" 0 "$RC"
expect_eq "erin is in RECOVERY" "RECOVERY" "$(user_status erin@example.com)"
expect_eq "the reset link is redacted" "[REDACTED]" "$(echo "$OUT" | jq -r .outputs.reset_password_url)"
RESET=$("$SPOKEFLOW" executions show "$(echo "$OUT" | jq -r .execution_id)" --json --reveal 2>/dev/null | jq -r .outputs.reset_password_url)
expect_contains "the sealed reset link opens" "$BASE/" "$RESET"
SENSITIVE+=("$RESET")
sf run password_reset --input user=erin@example.com --input method=temporary --json
expect_eq "password_reset (temporary) exits 0" 0 "$RC"
[ "$RC" -eq 0 ] || echo "$OUT $ERR" | tail -20
expect_eq "the temporary password is redacted" "[REDACTED]" "$(echo "$OUT" | jq -r .outputs.temp_password)"
TEMP=$("$SPOKEFLOW" executions show "$(echo "$OUT" | jq -r .execution_id)" --json --reveal 2>/dev/null | jq -r .outputs.temp_password)
if [ -n "$TEMP" ] && [ "$TEMP" != "null" ] && [ "$TEMP" != "[REDACTED]" ]; then pass "the sealed temporary password opens"; else fail "the sealed temporary password opens: got [$TEMP]"; fi
SENSITIVE+=("$TEMP")

echo "# rate limits: 300 calls through a flow against a 50-per-2-s users bucket"
cat > "$WORK/paced.yaml" <<'YAML'
name: paced
steps:
  - id: calls
    for_each: ${{ inputs.n }}
    concurrency: 20
    steps:
      - id: one
        action: okta.list_users
        with: { max_items: 1, page_size: 1 }
inputs:
  n: { type: array, required: true }
outputs:
  count: ${{ steps.calls.outputs.count }}
  failed: ${{ steps.calls.outputs.failed }}
YAML
curl -s -X PUT -H "Content-Type: application/json" -d '{"rate_limits": {"window_seconds": 2, "buckets": {"users": 50}}}' "$BASE/__sim/config" > /dev/null
curl -s -X DELETE "$BASE/__sim/requests" > /dev/null
seq 1 300 | jq -s '{n: .}' > "$WORK/n.json"
T0=$(date +%s%N)
run_stdout "$SPOKEFLOW" run "$WORK/paced.yaml" --inputs-file "$WORK/n.json" --json
MS=$(( ($(date +%s%N) - T0) / 1000000 ))
expect_eq "300 paced calls succeed" "300/0" "$(echo "$OUT" | jq -r '"\(.outputs.count)/\(.outputs.failed)"')"
SERVED=$(curl -s "$BASE/__sim/requests" | jq '[.. | objects | select(has("status") and has("target")) | select(.target | startswith("/api/v1/users"))] | length')
THROTTLED=$(curl -s "$BASE/__sim/requests" | jq '[.. | objects | select(has("status") and has("target")) | select(.status == 429)] | length')
echo "  (300 calls in $MS ms; okta-sim served $SERVED requests, $THROTTLED answered 429)"
if [ "$THROTTLED" -le 3 ]; then pass "at most 3 answers of 429 ($THROTTLED)"; else fail "too many 429s: $THROTTLED"; fi
# 300 calls at 50 per 2 s need 5 full windows after the first: about 10-12 s.
if [ "$MS" -ge 9000 ] && [ "$MS" -le 20000 ]; then pass "paced to the limit (${MS} ms)"; else fail "300 calls took ${MS} ms (expected about 12 s)"; fi
curl -s -X PUT -H "Content-Type: application/json" -d '{"rate_limits": {"window_seconds": 60, "buckets": {"users": 600}}}' "$BASE/__sim/config" > /dev/null

echo "# sensitive values through encodings and transforms (issue 16)"
# A sensitive login in a request path is percent-encoded there ('+' and '@'): that copy is
# hidden too, in the error's details.path and in the debug log.
cat > "$WORK/hidden.yaml" <<'YAML'
name: hidden
inputs:
  who: { type: string, sensitive: true, required: true }
steps:
  - id: read
    action: okta.get_user
    with: { user_id: "${{ inputs.who }}" }
YAML
HIDDEN='Hidden.Person+tag7@example.com'
sf run "$WORK/hidden.yaml" --input "who=$HIDDEN" --json
expect_eq "reading a user who does not exist fails" 1 "$RC"
expect_eq "...with Okta's 404" E0000007 "$(echo "$OUT" | jq -r .error.code)"
expect_eq "...whose path hides the percent-encoded login" "/api/v1/users/[REDACTED]" "$(echo "$OUT" | jq -r .error.details.path)"
expect_contains "...also in the debug log" "GET /api/v1/users/[REDACTED]" "$ERR"
run_stdout "$SPOKEFLOW" executions show "$(echo "$OUT" | jq -r .execution_id)" --json
printf '%s\n' "$OUT" >> "$LOG"
expect_eq "...and in the stored error" "/api/v1/users/[REDACTED]" "$(echo "$OUT" | jq -r '.steps[] | select(.path == "read") | .error.details.path')"
SENSITIVE+=("$HIDDEN")
# An activation link (an x-sensitive output) through upper() and lower().
cat > "$WORK/shout.yaml" <<'YAML'
name: shout
steps:
  - id: create
    action: okta.create_user
    with:
      profile: { login: lou@example.com, email: lou@example.com, firstName: Lou, lastName: Loud }
      activate: false
  - id: activate
    action: okta.activate_user
    with: { user_id: "${{ steps.create.outputs.user_id }}", send_email: false }
  - id: shout
    action: core.log
    with: { level: error, message: "link ${{ upper(steps.activate.outputs.activation_url) }}" }
  - id: copy
    action: core.echo
    with:
      up: ${{ upper(steps.activate.outputs.activation_url) }}
      json: ${{ toJSON(steps.activate.outputs) }}
  - id: boom
    action: core.fail
    continue_on_error: true
    with: { message: "link ${{ lower(steps.activate.outputs.activation_url) }}" }
outputs:
  link: ${{ steps.activate.outputs.activation_url }}
  up: ${{ upper(steps.activate.outputs.activation_url) }}
YAML
sf run "$WORK/shout.yaml" --json
expect_eq "the shout flow succeeds" 0 "$RC"
[ "$RC" -eq 0 ] || echo "$OUT $ERR" | tail -20
expect_eq "upper() of the activation link is redacted" "[REDACTED]" "$(echo "$OUT" | jq -r .outputs.up)"
expect_contains "the log line is kept, the link hidden" "link [REDACTED]" "$ERR"
SHOUT=$(echo "$OUT" | jq -r .execution_id)
run_stdout "$SPOKEFLOW" executions show "$SHOUT" --json
printf '%s\n' "$OUT" >> "$LOG"
expect_eq "the failed step's message hides the lower-cased link" "link [REDACTED]" "$(echo "$OUT" | jq -r '.steps[] | select(.path == "boom") | .error.message')"
LINK=$("$SPOKEFLOW" executions show "$SHOUT" --json --reveal 2>/dev/null | jq -r .outputs.link)
expect_contains "the sealed link opens" "$BASE/" "$LINK"
SENSITIVE+=("$LINK")

echo "# secrets: nothing written holds one"
# The activation link, reset link and temporary password the flows produced (opened above
# with --reveal, which this loop's files do not include), plus the token in the links.
ACT_TOKEN=${ACTIVATION%/verify}
ACT_TOKEN=${ACT_TOKEN##*/}
SENSITIVE+=("$ACT_TOKEN")
for f in "$LOG" "$SPOKEFLOW_STORE" "$SPOKEFLOW_STORE-wal" "$SPOKEFLOW_VAULT"; do
  [ -f "$f" ] || continue
  if grep -aqF "$TOKEN" "$f"; then fail "the API token appears in $(basename "$f")"; else pass "no API token in $(basename "$f")"; fi
  if grep -aqF "$SPOKEFLOW_MASTER_KEY" "$f"; then fail "the master key appears in $(basename "$f")"; else pass "no master key in $(basename "$f")"; fi
  for v in "${SENSITIVE[@]}"; do
    if [ ${#v} -lt 8 ]; then fail "sensitive value too short to search for: [$v]"; continue; fi
    # In any letter case, JSON-escaped or percent-encoded too (lib.sh, secret_forms).
    expect_no_secret "no sensitive value ...${v: -6} in $(basename "$f")" "$v" "$f"
  done
done

finish
