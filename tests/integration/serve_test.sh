#!/usr/bin/env bash
# `spokeflow serve` (issue 18): the HTTP API with tokens and roles, durable triggers with
# ?wait and Idempotency-Key, executions listed, read, followed, cancelled, retried and rerun,
# Okta event hooks verified and delivered by okta-sim (deduplicated), limits, and SIGTERM.
source "$(dirname "$0")/lib.sh"
: "${OKTA_SIM:?path to the okta-sim binary}"
SF="$SPOKEFLOW_TEST"
cd "$WORK"
SFLOWS="$TEST_DIR/integration/serve_flows"
export SPOKEFLOW_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SPOKEFLOW_VAULT="$WORK/vault.json"
TOKEN=sim-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
HOOK_SECRET="hook-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export HOOK_AUTH="$HOOK_SECRET"


start_sim
SERVE_PID=
cleanup() {
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null
  kill "$SIM_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
sim_listening
printf '%s\n' "$TOKEN" | "$SF" secrets set sim_token > /dev/null
cat > connections.yaml <<YAML
aliases:
  okta: { connection: sim }
connections:
  sim: { base_url: "$BASE", credential: sim_token, allow_insecure_http: true }
credentials:
  sim_token: { type: okta_api_token, token: { secret: sim_token } }
YAML
export SPOKEFLOW_CONNECTIONS="$WORK/connections.yaml"

echo "# tokens: made once, kept as hashes"
new_token() { "$SF" tokens create "$1" --role "$2" ${3:+--expires "$3"} | tail -1; }
ADMIN=$(new_token admin-1 admin)
OPERATOR=$(new_token op-1 operator)
VIEWER=$(new_token viewer-1 viewer)
REVOKED=$(new_token gone-1 operator)
EXPIRED=$(new_token short-1 operator 1ms)
"$SF" tokens revoke gone-1 > /dev/null
expect_eq "a token is one word on the last line" 1 "$(echo "$OPERATOR" | wc -w)"
run_capture "$SF" tokens create op-1 --role viewer
expect_eq "a taken name is refused" 2 "$RC"
run_capture "$SF" tokens list --json
expect_eq "list shows states" "active,active,active,revoked,expired" \
  "$(echo "$OUT" | jq -r '[.[] | select(.name | test("admin-1|op-1|viewer-1|gone-1|short-1")) | .state] | join(",")')"
expect_no_secret "the store holds no token in clear" "$OPERATOR" "$WORK/store.db" "$WORK/store.db-wal"

cat > serve.yaml <<YAML
listen: 127.0.0.1:0
flows_dir: $SFLOWS
worker: { concurrency: 32, lease: 5s, park_after: 2s }
limits: { max_body_bytes: 200000, read_timeout: 3s, max_wait: 20s }
hooks:
  okta: { authorization: { env: HOOK_AUTH } }
YAML
run_capture "$SF" serve --config /nonexistent/serve.yaml
expect_eq "a missing config is invalid input" 2 "$RC"
printf 'listen: 127.0.0.1:0\nworkers: 3\n' > bad.yaml
run_capture "$SF" serve --config bad.yaml
expect_contains "an unknown key is refused with its line" "bad.yaml:2:1" "$OUT"

"$SF" serve --config serve.yaml --log-level info --log-format json > serve.out 2> serve.err &
SERVE_PID=$!
wait_for 60 grep -q '^listening on ' serve.out || { echo "serve did not start"; cat serve.err; exit 1; }
API=$(sed -n 's/^listening on //p' serve.out | head -1)
expect_contains "the first line says where" "http://127.0.0.1:" "$(head -1 serve.out)"

# call METHOD PATH TOKEN [BODY] [extra curl args]: status in CODE, body in BODY, headers in HDRS
call() {
  local method=$1 path=$2 tok=$3 body=${4:-}
  shift 4 2>/dev/null || shift $#
  local args=(-s -o body.json -D headers.txt -w '%{http_code}' -X "$method" "$API$path")
  [ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  CODE=$(curl "${args[@]}" "$@")
  BODY=$(cat body.json)
  HDRS=$(cat headers.txt)
}

echo "# health, request ids, errors"
call GET /healthz ""
expect_eq "healthz" "200 alive" "$CODE $(echo "$BODY" | jq -r .status)"
call GET /readyz ""
expect_eq "readyz" "200 true true" "$CODE $(echo "$BODY" | jq -r '"\(.flows_loaded) \(.worker_running)"')"
expect_contains "every answer has X-Request-Id" "X-Request-Id: " "$HDRS"
call GET /api/v1/flows "" "" -H "X-Request-Id: trace-abc-1"
expect_contains "a caller's request id is kept" "X-Request-Id: trace-abc-1" "$HDRS"
expect_eq "no token: 401 in the error shape" "401 auth" "$CODE $(echo "$BODY" | jq -r .error.kind)"
call GET /api/v1/flows "not-a-token"
expect_eq "an unknown token: 401" 401 "$CODE"
call GET /api/v1/flows "$REVOKED"
expect_eq "a revoked token: 401" "401" "$CODE"
expect_contains "...saying so" "revoked" "$(echo "$BODY" | jq -r .error.message)"
call GET /api/v1/flows "$EXPIRED"
expect_eq "an expired token: 401" 401 "$CODE"
expect_contains "...saying so" "expired" "$(echo "$BODY" | jq -r .error.message)"
call GET /api/v1/nothing "$VIEWER"
expect_eq "an unknown route: 404" 404 "$CODE"
call GET '/api/v1/executions/..%2f..%2fetc' "$VIEWER"
expect_eq "a path with an encoded slash or dot segment: 404" 404 "$CODE"

echo "# flows and actions"
call GET /api/v1/flows "$VIEWER"
expect_eq "a viewer lists the flows" "200 breaks,hello,hook_setup,nightly,on_sign_in,on_user_created" \
  "$CODE $(echo "$BODY" | jq -r '[.flows[].name] | join(",")')"
call GET /api/v1/flows/hello "$VIEWER"
expect_eq "one flow with its inputs" "200 who,pause" "$CODE $(echo "$BODY" | jq -r '[.inputs[].name] | join(",")')"
call GET /api/v1/actions "$VIEWER"
expect_eq "the action catalog" "200 true" "$CODE $(echo "$BODY" | jq '[.actions[].name] | index("okta.get_user") != null')"
call GET /api/v1/actions/okta.get_user "$VIEWER"
expect_eq "one action's schemas" "200 user_id" "$CODE $(echo "$BODY" | jq -r '.inputs.required[0]')"

echo "# triggering"
call POST /api/v1/flows/hello/executions "$VIEWER" '{"inputs":{"who":"ann"}}'
expect_eq "a viewer may not trigger: 403" "403 forbidden" "$CODE $(echo "$BODY" | jq -r .error.kind)"
call POST /api/v1/flows/nope/executions "$OPERATOR" '{"inputs":{}}'
expect_eq "an unknown flow: 404" 404 "$CODE"
call POST /api/v1/flows/hello/executions "$OPERATOR" '{"inputs":{"who":5,"extra":1}}'
expect_eq "invalid inputs: 422 validation" "422 validation" "$CODE $(echo "$BODY" | jq -r .error.kind)"
call POST /api/v1/flows/hello/executions "$OPERATOR" '{"inputs":'
expect_eq "a body that is not JSON: 400" 400 "$CODE"
call POST /api/v1/flows/hello/executions "$OPERATOR" '{"input":{}}'
expect_eq "an unknown body field: 422" 422 "$CODE"
before=$(execution_count)
expect_eq "...and nothing was queued by any of them" 0 "$before"
call POST /api/v1/flows/hello/executions "$OPERATOR" '{"inputs":{"who":"ann"}}'
ID1=$(echo "$BODY" | jq -r .execution_id)
expect_eq "accepted: 202 queued with its Location" "202 queued" "$CODE $(echo "$BODY" | jq -r .status)"
expect_contains "...Location" "Location: /api/v1/executions/$ID1" "$HDRS"
expect_eq "...its trigger records the token's name (issue 21)" "api op-1" \
  "$("$SF" executions show "$ID1" --json | jq -r '"\(.trigger.type) \(.trigger.token)"')"
expect_contains "...which executions show prints" '"token":"op-1"' "$("$SF" executions show "$ID1")"
call POST '/api/v1/flows/hello/executions?wait=15s' "$OPERATOR" '{"inputs":{"who":"bob"}}'
expect_eq "?wait: 200 with the outputs" "200 succeeded hello bob" \
  "$CODE $(echo "$BODY" | jq -r '"\(.status) \(.outputs.greeting)"')"
call POST '/api/v1/flows/hello/executions?wait=1s' "$OPERATOR" '{"inputs":{"who":"cy","pause":"4s"}}'
expect_eq "?wait that ends first: 202" 202 "$CODE"
call POST '/api/v1/flows/hello/executions?wait=2h' "$OPERATOR" '{"inputs":{"who":"cy"}}'
expect_eq "?wait beyond the limit: 400" 400 "$CODE"
call POST /api/v1/flows/hello/executions "$OPERATOR" '{"inputs":{"who":"dee"}}' -H "Idempotency-Key: order-77"
IDK=$(echo "$BODY" | jq -r .execution_id)
call POST /api/v1/flows/hello/executions "$OPERATOR" '{"inputs":{"who":"dee"}}' -H "Idempotency-Key: order-77"
expect_eq "a repeated Idempotency-Key returns the first execution" "202 $IDK false" \
  "$CODE $(echo "$BODY" | jq -r '"\(.execution_id) \(.created)"')"
call POST /api/v1/flows/breaks/executions "$OPERATOR" '{"inputs":{"marker":"/nonexistent"}}' -H "Idempotency-Key: order-77"
IDK_OTHER=$(echo "$BODY" | jq -r .execution_id)
expect_eq "the key's scope is its flow: the same key on another flow starts one" "202 true true" \
  "$CODE $(echo "$BODY" | jq -r .created) $([ "$IDK_OTHER" != "$IDK" ] && echo true)"
# The 24 h window, by ageing the first execution's row: 23 h old it still answers; 25 h old the
# key starts a new execution (and a repeat then returns that one).
age_row() { sqlite3 "$WORK/store.db" "PRAGMA busy_timeout=5000; UPDATE executions SET created_at = created_at - $2 WHERE id = '$1';" > /dev/null; }
age_row "$IDK" $((23 * 3600 * 1000))
call POST /api/v1/flows/hello/executions "$OPERATOR" '{"inputs":{"who":"dee"}}' -H "Idempotency-Key: order-77"
expect_eq "a repeat within 24 h (23 h later) still returns the first" "202 $IDK false" \
  "$CODE $(echo "$BODY" | jq -r '"\(.execution_id) \(.created)"')"
age_row "$IDK" $((2 * 3600 * 1000))
call POST /api/v1/flows/hello/executions "$OPERATOR" '{"inputs":{"who":"dee"}}' -H "Idempotency-Key: order-77"
IDK2=$(echo "$BODY" | jq -r .execution_id)
expect_eq "after 24 h (25 h later) the key starts a new execution" "202 true true" \
  "$CODE $(echo "$BODY" | jq -r .created) $([ "$IDK2" != "$IDK" ] && echo true)"
call POST /api/v1/flows/hello/executions "$OPERATOR" '{"inputs":{"who":"dee"}}' -H "Idempotency-Key: order-77"
expect_eq "...and a repeat now returns the new one" "202 $IDK2 false" \
  "$CODE $(echo "$BODY" | jq -r '"\(.execution_id) \(.created)"')"
wait_until 60 '[ "$("$SF" executions show "$ID1" --json | jq -r .status)" == succeeded ]'
expect_eq "the first one ran" succeeded "$("$SF" executions show "$ID1" --json | jq -r .status)"

echo "# reading executions"
call GET '/api/v1/executions?flow=hello&limit=2' "$VIEWER"
CURSOR=$(echo "$BODY" | jq -r .next_cursor)
FIRST_PAGE=$(echo "$BODY" | jq -r '[.executions[].id] | join(",")')
expect_eq "a page of 2 with a cursor" "200 2 true" "$CODE $(echo "$BODY" | jq '.executions | length') $([ "$CURSOR" != null ] && echo true)"
expect_eq "light rows: no source, no inputs" "null null" "$(echo "$BODY" | jq -r '"\(.executions[0].source) \(.executions[0].inputs)"')"
call GET "/api/v1/executions?flow=hello&limit=2&cursor=$CURSOR" "$VIEWER"
expect_eq "the next page holds others" "" "$(comm -12 <(echo "$FIRST_PAGE" | tr , '\n' | sort) <(echo "$BODY" | jq -r '.executions[].id' | sort))"
call GET '/api/v1/executions?trigger=api&status=succeeded' "$VIEWER"
expect_eq "filters by trigger and status" "true" "$(echo "$BODY" | jq '[.executions[] | select(.status == "succeeded" and .trigger == "api")] | length >= 2')"
call GET '/api/v1/executions?status=weird' "$VIEWER"
expect_eq "a bad filter: 400" 400 "$CODE"
call GET "/api/v1/executions/$ID1" "$VIEWER"
expect_eq "one execution with its steps" "200 pause,greet" "$CODE $(echo "$BODY" | jq -r '[.steps[].path] | join(",")')"
call GET "/api/v1/executions/$ID1?steps_limit=1" "$VIEWER"
expect_eq "steps are paged" "1 1 2" "$(echo "$BODY" | jq -r '"\(.steps | length) \(.steps_next_offset) \(.steps_total)"')"
call GET /api/v1/executions/01ARZ3NDEKTSV4RRFFQ69G5FAV "$VIEWER"
expect_eq "an unknown execution: 404" 404 "$CODE"

echo "# cancel, retry, rerun"
call POST /api/v1/flows/hello/executions "$OPERATOR" '{"inputs":{"who":"slow","pause":"60s"}}'
SLOW=$(echo "$BODY" | jq -r .execution_id)
wait_until 30 '[ "$("$SF" executions show "$SLOW" --json | jq -r .status)" != queued ]'
call POST "/api/v1/executions/$SLOW/cancel" "$VIEWER"
expect_eq "a viewer may not cancel" 403 "$CODE"
call POST "/api/v1/executions/$SLOW/cancel" "$OPERATOR"
expect_eq "cancel accepted" 202 "$CODE"
wait_until 30 '[ "$("$SF" executions show "$SLOW" --json | jq -r .status)" == cancelled ]'
expect_eq "...and it ends cancelled" cancelled "$("$SF" executions show "$SLOW" --json | jq -r .status)"
touch marker
call POST '/api/v1/flows/breaks/executions?wait=15s' "$OPERATOR" "{\"inputs\":{\"marker\":\"$WORK/marker\"}}"
BROKE=$(echo "$BODY" | jq -r .execution_id)
expect_eq "a failing flow: 200 failed with its error" "200 failed action" "$CODE $(echo "$BODY" | jq -r '"\(.status) \(.error.kind)"')"
call POST "/api/v1/executions/$ID1/retry" "$OPERATOR"
expect_eq "a succeeded execution cannot be retried: 409" 409 "$CODE"
rm marker
call POST "/api/v1/executions/$BROKE/retry" "$OPERATOR"
expect_eq "retry accepted" 202 "$CODE"
wait_until 30 '[ "$("$SF" executions show "$BROKE" --json | jq -r .status)" == succeeded ]'
expect_eq "...it continues and succeeds" succeeded "$("$SF" executions show "$BROKE" --json | jq -r .status)"
call POST "/api/v1/executions/$ID1/rerun" "$OPERATOR"
RERUN=$(echo "$BODY" | jq -r .execution_id)
expect_eq "rerun: a new execution" "202 $ID1" "$CODE $(echo "$BODY" | jq -r .rerun_of)"
wait_until 30 '[ "$("$SF" executions show "$RERUN" --json | jq -r .status)" == succeeded ]'
expect_eq "...with the same inputs" '"ann"' "$("$SF" executions show "$RERUN" --json | jq -c .inputs.who)"

echo "# following an execution (server-sent events)"
call POST /api/v1/flows/hello/executions "$OPERATOR" '{"inputs":{"who":"eve","pause":"1s"}}'
EVE=$(echo "$BODY" | jq -r .execution_id)
timeout 30 curl -s -N -H "Authorization: Bearer $VIEWER" "$API/api/v1/executions/$EVE/events" > events.txt || true
expect_eq "each step as it finishes, then the end" "pause:succeeded greet:succeeded end" \
  "$(sed -n 's/^data: //p' events.txt | jq -r 'if .path then select(.status != "running") | "\(.path):\(.status)" else "end" end' | tr '\n' ' ' | sed 's/ $//')"
expect_contains "...the end says succeeded" '"status":"succeeded"' "$(grep -A1 '^event: end' events.txt)"
# A stream that stays quiet longer than a write's deadline (10 s) is still open when the end comes.
call POST /api/v1/flows/hello/executions "$OPERATOR" '{"inputs":{"who":"quiet","pause":"13s"}}'
QUIET=$(echo "$BODY" | jq -r .execution_id)
timeout 60 curl -s -N -H "Authorization: Bearer $VIEWER" "$API/api/v1/executions/$QUIET/events" > quiet.txt || true
expect_contains "a quiet stream sees the end" '"status":"succeeded"' "$(grep -A1 '^event: end' quiet.txt)"

echo "# the API's description matches the routes"
call GET /api/v1/openapi.json ""
expect_eq "served" "200 3.1.0" "$CODE $(echo "$BODY" | jq -r .openapi)"
echo "$BODY" > openapi.json
missing=
while IFS=' ' read -r method path; do
  p=${path//\{name\}/hello}
  [[ "$path" == /api/v1/actions/* ]] && p=${path//\{name\}/core.echo}
  [[ "$path" == /hooks/* ]] && p=${path//\{name\}/okta}
  [[ "$path" == /api/v1/tokens/* ]] && p=${path//\{name\}/gone-1}
  p=${p//\{alias\}/okta}
  p=${p//\{id\}/$ID1}
  p=${p//\{file\}/app.js}
  M=$(echo "$method" | tr a-z A-Z)
  [[ "$path" == */events ]] && { code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' -H "Authorization: Bearer $ADMIN" "$API$p" || true); } \
    || code=$(curl -s -o /dev/null -w '%{http_code}' -X "$M" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' --data-binary '{}' "$API$p")
  case "$code" in 404|405|000) missing="$missing $M:$path($code)" ;; esac
done < <(jq -r '.paths | to_entries[] | .key as $p | .value | keys[] | "\(.) \($p)"' openapi.json)
expect_eq "every documented route answers" "" "$missing"
echo "# who may do what: every route with no token, viewer, operator, admin, revoked and expired tokens"
"$SF" tokens create matrix-victim --role viewer > /dev/null
# METHOD PATH ROLE SAMPLE BODY ALLOWED. ROLE: the least role that may call the route (none: anyone;
# hook: only the hook's secret, never an API token). ALLOWED: what that role and those above get for
# SAMPLE ('-': no body). The callers go from weakest to strongest, so a state-changing sample runs
# once, by the first caller allowed: its code shows that no refused call changed anything before
# it. A route the document has and this table lacks (or the reverse, or another role) fails here.
ROUTES=$(cat <<EOF
GET /healthz none /healthz - 200
GET /readyz none /readyz - 200
GET /metrics viewer /metrics - 200
GET /api/v1/openapi.json none /api/v1/openapi.json - 200
GET /api/v1/flows viewer /api/v1/flows - 200
GET /api/v1/flows/{name} viewer /api/v1/flows/hello - 200
POST /api/v1/flows/{name}/executions operator /api/v1/flows/hello/executions {"inputs":{"who":"matrix"}} 202
GET /api/v1/actions viewer /api/v1/actions - 200
GET /api/v1/actions/{name} viewer /api/v1/actions/core.echo - 200
GET /api/v1/executions viewer /api/v1/executions - 200
GET /api/v1/executions/{id} viewer /api/v1/executions/$ID1 - 200
GET /api/v1/executions/{id}/events viewer /api/v1/executions/$ID1/events - 200
POST /api/v1/executions/{id}/cancel operator /api/v1/executions/$ID1/cancel - 409
POST /api/v1/executions/{id}/retry operator /api/v1/executions/$ID1/retry - 409
POST /api/v1/executions/{id}/rerun operator /api/v1/executions/$ID1/rerun - 202
POST /api/v1/executions/{id}/reveal admin /api/v1/executions/$ID1/reveal - 200
GET /api/v1/tokens admin /api/v1/tokens - 200
POST /api/v1/tokens admin /api/v1/tokens {"name":"matrix-made","role":"viewer"} 201
POST /api/v1/tokens/{name}/revoke admin /api/v1/tokens/matrix-victim/revoke - 200
GET /api/v1/connections viewer /api/v1/connections - 200
POST /api/v1/connections/{alias}/test admin /api/v1/connections/okta/test - 200
GET /api/v1/hook-deliveries viewer /api/v1/hook-deliveries - 200
GET /api/v1/schedules viewer /api/v1/schedules - 200
GET /hooks/okta/{name} hook /hooks/okta/okta - -
POST /hooks/okta/{name} hook /hooks/okta/okta {} -
GET /ui none /ui - 200
GET /ui/{file} none /ui/app.js - 200
GET /ui/session none /ui/session - 401
POST /ui/session none /ui/session {"token":"sft_not-a-token"} 401
POST /ui/session/sign-out none /ui/session/sign-out - 401
EOF
)
documented=$(jq -r '.paths | to_entries[] | .key as $p | .value | to_entries[] |
  "\(.key | ascii_upcase) \($p) \(.value["x-spokeflow-role"] // (if (.value.security // []) == [] then "none" else "hook" end))"' openapi.json | sort)
listed=$(echo "$ROUTES" | awk '{print $1, $2, $3}' | sort)
expect_eq "the role table lists every documented route, with the document's role" "" \
  "$(diff <(echo "$documented") <(echo "$listed") | grep '^[<>]' | tr '\n' ';' || true)"
rank() { case $1 in viewer) echo 1 ;; operator) echo 2 ;; admin) echo 3 ;; *) echo 0 ;; esac; }
wrong=
checked=0
while read -r method path role sample body allowed; do
  for who in none revoked expired viewer operator admin; do
    case $who in
      none) tok= ;; revoked) tok=$REVOKED ;; expired) tok=$EXPIRED ;;
      viewer) tok=$VIEWER ;; operator) tok=$OPERATOR ;; admin) tok=$ADMIN ;;
    esac
    if [ "$role" == none ]; then want=$allowed
    elif [ "$role" == hook ] || [ -z "$tok" ] || [ "$who" == revoked ] || [ "$who" == expired ]; then want=401
    elif [ "$(rank "$who")" -lt "$(rank "$role")" ]; then want=403
    else want=$allowed
    fi
    args=(-s -o /dev/null -m 10 -w '%{http_code}' -X "$method")
    [ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
    [ "$body" != - ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    got=$(curl "${args[@]}" "$API$sample" || true)
    checked=$((checked + 1))
    [ "$got" == "$want" ] || wrong="$wrong [$method $path as $who: $got, not $want]"
  done
done <<< "$ROUTES"
expect_eq "every route answers each kind of caller as its role says ($checked calls)" "" "$wrong"
expect_eq "...and the table has as many routes as the document" "$(jq '[.paths[] | keys[]] | length' openapi.json)" \
  "$(echo "$ROUTES" | wc -l | tr -d ' ')"

echo "# Okta event hooks, end to end with okta-sim"
HOOK_URL="$API/hooks/okta/okta"
curl -s -o /dev/null -w '%{http_code}' -H "x-okta-verification-challenge: abc" "$HOOK_URL" > code.txt
expect_eq "verification without the secret: 401" 401 "$(cat code.txt)"
run_capture "$SF" run hook_setup --flows-dir "$SFLOWS" --input url="$HOOK_URL" --input auth="$HOOK_SECRET" --json
expect_eq "a flow creates the hook and okta-sim verifies it" "0 VERIFIED" "$RC $(echo "$OUT" | jq -r .outputs.verification)"
HOOK_SETUP_OUT=$OUT
okta -X POST "$BASE/api/v1/users?activate=false" \
  -d '{"profile":{"firstName":"Hook","lastName":"Test","email":"hook.test@example.com","login":"hook.test@example.com"}}' > user.json
UID_=$(jq -r .id user.json)
user_run_done() {
  "$SF" executions list --flow on_user_created --json | jq -e --arg u "$UID_" '[.[] | select(.status == "succeeded" and .outputs.id == $u)] | length == 1' > /dev/null
}
wait_for 60 user_run_done
expect_eq "the okta_event flow ran for the new user" 0 "$?"
call GET '/api/v1/executions?trigger=okta_event&flow=on_user_created' "$VIEWER"
expect_eq "...recorded as triggered by okta_event" 1 "$(echo "$BODY" | jq '.executions | length')"

# Deliveries made by hand: the same shape okta-sim and Okta send.
delivery() {  # delivery EVENT_ID N_EVENTS TYPE
  jq -n --arg id "$1" --argjson n "$2" --arg t "$3" '{eventType: "com.okta.event_hook", eventTypeVersion: "1.0",
    cloudEventsVersion: "0.1", source: "test", eventId: $id, eventTime: "2026-12-07T10:00:00.000Z",
    contentType: "application/json", data: {events: [range($n) | {uuid: "\($id)-\(.)", published: "2026-12-07T10:00:00.000Z",
    eventType: $t, displayMessage: "x", actor: {id: "00u1", type: "User"}, target: [{id: "00u2", type: "User", alternateId: "a@b.c"}]}]}}'
}
post_hook() { curl -s -o hook.json -w '%{http_code}' -H "Authorization: $2" -H 'Content-Type: application/json' --data-binary "@$1" "$HOOK_URL"; }
delivery evt-1 3 user.session.start > d1.json
expect_eq "a delivery without the secret: 401" 401 "$(post_hook d1.json wrong)"
expect_eq "a delivery: 200, 3 started" "200 3" "$(post_hook d1.json "$HOOK_SECRET") $(jq .started hook.json)"
expect_eq "the same delivery again starts nothing" "200 true 0" "$(post_hook d1.json "$HOOK_SECRET") $(jq -r '"\(.duplicate) \(.started)"' hook.json)"
jq '.eventId = "evt-1-retry"' d1.json > d1r.json
expect_eq "its events in another delivery start nothing (uuid)" "200 0" "$(post_hook d1r.json "$HOOK_SECRET") $(jq .started hook.json)"
echo '{"eventId": 5}' > bad.json
expect_eq "a malformed delivery: 400" 400 "$(post_hook bad.json "$HOOK_SECRET")"

echo "# admin: tokens over HTTP"
call POST /api/v1/tokens "$ADMIN" '{"name":"web-1","role":"operator","expires":"30d"}'
WEB1=$(echo "$BODY" | jq -r .token)
expect_eq "made: 201, shown once, with its row" "201 operator active true" \
  "$CODE $(echo "$BODY" | jq -r '"\(.role) \(.state) \(.expires_at != null)"')"
expect_contains "...not to be cached" "Cache-Control: no-store" "$HDRS"
call GET /api/v1/flows "$WEB1"
expect_eq "the new token works" 200 "$CODE"
call POST /api/v1/tokens "$ADMIN" '{"name":"web-1","role":"viewer"}'
expect_eq "a taken name: 409" 409 "$CODE"
call POST /api/v1/tokens "$ADMIN" '{"name":"bad name","role":"viewer"}'
expect_eq "a bad name: 422 saying so" "422 true" "$CODE $(echo "$BODY" | jq '.error.message | test("bad name")')"
call POST /api/v1/tokens "$ADMIN" '{"name":"x-1","role":"root"}'
expect_eq "a bad role: 422" 422 "$CODE"
call POST /api/v1/tokens "$ADMIN" '{"name":"x-1","role":"viewer","expires":"soon"}'
expect_eq "a bad expiry: 422" 422 "$CODE"
call POST /api/v1/tokens "$ADMIN" '{"name":"x-1","role":"viewer","extra":1}'
expect_eq "an unknown field: 422" 422 "$CODE"
call GET /api/v1/tokens "$ADMIN"
expect_eq "listed with when it was last used, never a hash or a token" "operator true false false" \
  "$(echo "$BODY" | jq -r '.tokens[] | select(.name == "web-1") | "\(.role) \(.last_used_at != null) \(has("hash")) \(has("token"))"')"
expect_eq "...a token never used has no last use" "null" \
  "$(echo "$BODY" | jq -r '.tokens[] | select(.name == "matrix-made") | .last_used_at')"
expect_eq "...the revoked and expired ones say so" "revoked expired" \
  "$(echo "$BODY" | jq -r '[.tokens[] | select(.name == "gone-1" or .name == "short-1") | .state] | join(" ")')"
expect_no_secret "the list holds no token" "$WEB1" body.json
call POST /api/v1/tokens/web-1/revoke "$ADMIN"
expect_eq "revoked: 200" "200 revoked" "$CODE $(echo "$BODY" | jq -r .state)"
call GET /api/v1/flows "$WEB1"
expect_eq "...and refused from then on" 401 "$CODE"
expect_eq "...which the CLI sees too (one store)" revoked \
  "$("$SF" tokens list --json | jq -r '.[] | select(.name == "web-1") | .state')"
call POST /api/v1/tokens/web-1/revoke "$ADMIN"
expect_eq "revoking twice: 409" 409 "$CODE"
call POST /api/v1/tokens/nobody/revoke "$ADMIN"
expect_eq "an unknown token: 404" 404 "$CODE"
expect_no_secret "the store keeps no token made over HTTP in clear" "$WEB1" "$WORK/store.db" "$WORK/store.db-wal"

echo "# admin: sealed values revealed, and only to an admin"
HS_ID=$(echo "$HOOK_SETUP_OUT" | jq -r .execution_id)
call GET "/api/v1/executions/$HS_ID" "$ADMIN"
expect_eq "without reveal a sensitive input is [REDACTED], even for an admin" "200 [REDACTED]" "$CODE $(echo "$BODY" | jq -r .inputs.auth)"
call GET "/api/v1/executions/$HS_ID?reveal=true" "$ADMIN"
expect_eq "...a query parameter does not reveal" "[REDACTED]" "$(echo "$BODY" | jq -r .inputs.auth)"
call POST "/api/v1/executions/$HS_ID/reveal" "$OPERATOR"
expect_eq "an operator may not reveal: 403, no value" "403 false" "$CODE $(grep -qF "$HOOK_SECRET" body.json && echo true || echo false)"
call POST "/api/v1/executions/$HS_ID/reveal" "$ADMIN"
expect_eq "an admin sees the value in clear" "200 true true" \
  "$CODE $(echo "$BODY" | jq --arg s "$HOOK_SECRET" '.inputs.auth == $s') $(echo "$BODY" | jq .reveal_complete)"
expect_contains "...not to be cached" "Cache-Control: no-store" "$HDRS"
call POST /api/v1/executions/01ARZ3NDEKTSV4RRFFQ69G5FAV/reveal "$ADMIN"
expect_eq "an unknown execution: 404" 404 "$CODE"
wait_for 10 grep -q "execution $HS_ID .*revealed to token 'admin-1'" serve.err
expect_contains "each reveal is logged: which execution, which token" "$HS_ID" "$(grep "revealed to token 'admin-1'" serve.err)"

echo "# connections: listed for viewers without secrets, tested by admins"
call GET /api/v1/connections "$VIEWER"
expect_eq "the alias with its type and host" "200 okta sim okta_api_token ${BASE#http://}" \
  "$CODE $(echo "$BODY" | jq -r '.aliases[] | "\(.alias) \(.connection) \(.type) \(.host)"')"
expect_eq "...no credential's name or fields" "" "$(grep -o 'sim_token\|credential' body.json || true)"
expect_no_secret "...nor its secret" "$TOKEN" body.json
call POST /api/v1/connections/okta/test "$VIEWER"
expect_eq "a viewer may not test it" 403 "$CODE"
call POST /api/v1/connections/okta/test "$ADMIN"
expect_eq "an admin's test answers what 'connections test' prints" "200 true GET /api/v1/users/me 200" \
  "$CODE $(echo "$BODY" | jq -r '"\(.ok) \(.request) \(.status)"')"
expect_no_secret "...without the secret" "$TOKEN" body.json
run_capture "$SF" connections test okta --json
expect_eq "...the same fields as the CLI" "$(echo "$OUT" | jq -c 'keys')" "$(echo "$BODY" | jq -c 'keys')"
call POST /api/v1/connections/nowhere/test "$ADMIN"
expect_eq "an unknown alias: 404" 404 "$CODE"
# The test waits on the service's loop like any Okta call: while okta-sim takes 10 s to answer
# it, other requests are served.
curl -s -X PUT -H "Content-Type: application/json" -d '{"faults": {"latency_ms": 10000}}' "$BASE/__sim/config" > /dev/null
tests_logged() { grep -c "connection test of alias 'okta'" serve.err || true; }
before_tests=$(tests_logged)
test_started() { [ "$(tests_logged)" -gt "$before_tests" ]; }
curl -s -o slow_test.json -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN" "$API/api/v1/connections/okta/test" \
  > slow_test.code &
SLOW_TEST=$!
wait_for 30 test_started || true
call GET /api/v1/flows "$VIEWER"
expect_eq "a slow connection test holds up no other request" "200 true" \
  "$CODE $(kill -0 "$SLOW_TEST" 2>/dev/null && echo true || echo false)"
wait "$SLOW_TEST" || true
expect_eq "...and answers when Okta does" "200 true true" \
  "$(cat slow_test.code) $(jq -r '"\(.ok) \(.ms >= 10000)"' slow_test.json)"
curl -s -X PUT -H "Content-Type: application/json" -d '{"faults": {"latency_ms": 0}}' "$BASE/__sim/config" > /dev/null

echo "# event-hook deliveries for the web view, in pages"
rows=
cursor=
for page in $(seq 1 20); do
  call GET "/api/v1/hook-deliveries?limit=1${cursor:+&cursor=$(jq -rn --arg c "$cursor" '$c | @uri')}" "$VIEWER"
  [ "$CODE" == 200 ] || break
  rows="$rows$(echo "$BODY" | jq -c '.deliveries[]')"$'\n'
  cursor=$(echo "$BODY" | jq -r '.next_cursor // empty')
  [ -n "$cursor" ] || break
done
expect_eq "pages of one, each delivery once" "$(echo "$rows" | grep -c event_id)" \
  "$(echo "$rows" | jq -r .event_id | sort -u | grep -c .)"
expect_eq "a delivery with the flows it started" "3 3 0 on_sign_in" \
  "$(echo "$rows" | jq -r 'select(.event_id == "evt-1") | "\(.events) \(.executions_started) \(.duplicate_events) \(.started[0].flow)"')"
expect_eq "...received twice: the redelivery counted, with its time" "1 true true" \
  "$(echo "$rows" | jq -r 'select(.event_id == "evt-1") | "\(.redeliveries) \(.last_redelivered_at >= .received_at) \(.last_redelivered_at | test("^20[0-9-]+T"))"')"
expect_eq "...a delivery received once: none" "0 null" \
  "$(echo "$rows" | jq -r 'select(.event_id == "evt-1-retry") | "\(.redeliveries) \(.last_redelivered_at)"')"
expect_eq "a delivery of events seen before: duplicates, nothing started" "0 3" \
  "$(echo "$rows" | jq -r 'select(.event_id == "evt-1-retry") | "\(.executions_started) \(.duplicate_events)"')"
call GET "/api/v1/hook-deliveries?cursor=nonsense" "$VIEWER"
expect_eq "a cursor it did not give: 400" 400 "$CODE"

echo "# schedules for the web view: next, last and skipped fires"
call GET /api/v1/schedules "$VIEWER"
expect_eq "a trigger's next fires (only on February 29)" "200 nightly 0 3 29 2 * Europe/Berlin 3 02-29T03:00:00" \
  "$CODE $(echo "$BODY" | jq -r '.schedules[] | "\(.flow) \(.cron) \(.timezone) \(.next_fires | length) \(.next_fires[0].local[5:19])"')"
expect_eq "...no fire yet" "null 0" "$(echo "$BODY" | jq -r '.schedules[0] | "\(.last_fire) \(.skipped_fires)"')"
# Fires as the scheduler records them (scheduler_test covers how it does): one made, one skipped
# for overlap, one standing for 5 missed in downtime.
KEY='0:0 3 29 2 *@Europe/Berlin'
sqlite3 "$WORK/store.db" "PRAGMA busy_timeout=5000;
  INSERT INTO schedule_fires VALUES('nightly', '$KEY', 1709172000000, 1709172000100, 'enqueued', '$ID1', 0);
  INSERT INTO schedule_fires VALUES('nightly', '$KEY', 1835409600000, 1835409600100, 'skipped_overlap', NULL, 0);
  INSERT INTO schedule_fires VALUES('nightly', '$KEY', 1961640000000, 1961640000100, 'missed', NULL, 4);" > /dev/null
call GET '/api/v1/schedules?fires=2' "$VIEWER"
expect_eq "last fire, last enqueued, recent fires and skipped fires" "missed $ID1 missed,skipped_overlap 6" \
  "$(echo "$BODY" | jq -r '.schedules[0] | "\(.last_fire.outcome) \(.last_enqueued.execution_id) \([.recent_fires[].outcome] | join(",")) \(.skipped_fires)"')"

echo "# a burst of 1,000 events in deliveries of 50"
t0=$(date +%s%N)
for b in $(seq 1 20); do
  delivery "burst-$b" 50 user.session.start > burst.json
  post_hook burst.json "$HOOK_SECRET" > /dev/null
done
t1=$(date +%s%N)
echo "  1000 events accepted in $(( (t1 - t0) / 1000000 )) ms"
burst_done() { [ "$("$SF" executions list --flow on_sign_in --status succeeded --limit 100000 --json | jq length)" -ge 1003 ]; }
wait_for 300 burst_done || true
expect_eq "1,000 executions, none lost (3 before them)" 1003 \
  "$("$SF" executions list --flow on_sign_in --limit 100000 --json | jq '[.[] | select(.status == "succeeded")] | length')"

echo "# the web view: its pages, browser sessions, CSRF, search"
call GET /ui/ ""
expect_eq "the page is served to anyone (it holds no data)" "200" "$CODE"
expect_contains "...as HTML" "text/html" "$HDRS"
expect_contains "...with a policy that allows only its own files" "Content-Security-Policy: default-src 'self'; script-src 'self'" "$HDRS"
expect_contains "...and no framing" "frame-ancestors 'none'" "$HDRS"
ETAG=$(echo "$HDRS" | tr -d '\r' | sed -n 's/^ETag: //p')
call GET /ui/ "" "" -H "If-None-Match: $ETAG"
expect_eq "an unchanged page: 304" 304 "$CODE"
for bad in /ui/..%2fserve.yaml /ui/%2e%2e /ui/App.js /ui/.hidden /ui/a/b /ui/nonexistent.js; do
  call GET "$bad" ""
  expect_eq "no file outside the page files: $bad" 404 "$CODE"
done
# sign_in TOKEN: the session cookie in COOKIE, its csrf in CSRF
sign_in() {
  call POST /ui/session "" "{\"token\": \"$1\"}"
  COOKIE=$(echo "$HDRS" | tr -d '\r' | sed -n 's/^Set-Cookie: \(spokeflow_session=[^;]*\);.*/\1/p')
  CSRF=$(echo "$BODY" | jq -r '.csrf // empty')
}
sign_in "sft_not-a-token"
expect_eq "signing in with an unknown token: 401, no cookie" "401 auth " "$CODE $(echo "$BODY" | jq -r .error.kind) $COOKIE"
sign_in "$REVOKED"
expect_contains "...a revoked one says so" "revoked" "$(echo "$BODY" | jq -r .error.message)"
call POST /ui/session "" '{"tok": 1}'
expect_eq "a malformed sign-in: 400" 400 "$CODE"
sign_in "$VIEWER"
expect_eq "a viewer signs in" "200 viewer-1 viewer" "$CODE $(echo "$BODY" | jq -r '"\(.name) \(.role)"')"
expect_contains "...the cookie is HttpOnly and SameSite=Strict" "Path=/; HttpOnly; SameSite=Strict" "$HDRS"
expect_not_contains "...not Secure over plain HTTP (it would never come back)" "Secure" "$(echo "$HDRS" | grep -i '^set-cookie')"
expect_not_contains "...and holds a session id, not the token" "${VIEWER#sft_}" "$COOKIE"
expect_contains "...never cached" "Cache-Control: no-store" "$HDRS"
VIEWER_COOKIE=$COOKIE VIEWER_CSRF=$CSRF
# Sessions are kept in the store: a second service on the same store (another process, as after
# a restart or behind a load balancer without sticky sessions) knows the cookie.
"$SF" serve --config serve.yaml --listen 127.0.0.1:0 > serve2.out 2> serve2.err &
SERVE2_PID=$!
wait_for 60 grep -q '^listening on ' serve2.out || { echo "the second serve did not start"; cat serve2.err; exit 1; }
API2=$(sed -n 's/^listening on //p' serve2.out | head -1)
CODE=$(curl -s -o body2.json -w '%{http_code}' -H "Cookie: $VIEWER_COOKIE" "$API2/ui/session")
expect_eq "another service on the same store knows the session, with its CSRF token" "200 viewer-1 true" \
  "$CODE $(jq -r --arg c "$VIEWER_CSRF" '"\(.name) \(.csrf == $c)"' body2.json)"
# The tokens used on the first service: their last use reached the store (once a minute at most).
curl -s -H "Authorization: Bearer $ADMIN" "$API2/api/v1/tokens" > tokens2.json
expect_eq "another service knows when viewer-1 and op-1 were last used here" "true true" \
  "$(jq -r '[.tokens[] | select(.name == "viewer-1" or .name == "op-1") | .last_used_at != null] | join(" ")' tokens2.json)"
expect_eq "...and tokens list too" "true" \
  "$("$SF" tokens list --json | jq -r '.[] | select(.name == "viewer-1") | .last_used_at != null')"
kill -TERM "$SERVE2_PID"; wait "$SERVE2_PID" 2>/dev/null || true
expect_no_secret "the store keeps no session id in clear" "${VIEWER_COOKIE#spokeflow_session=}" "$WORK/store.db" "$WORK/store.db-wal"
expect_no_secret "...nor its CSRF token" "$VIEWER_CSRF" "$WORK/store.db" "$WORK/store.db-wal"
call GET /ui/session "" "" -H "Cookie: $VIEWER_COOKIE"
expect_eq "the session is known" "200 viewer $VIEWER_CSRF" "$CODE $(echo "$BODY" | jq -r '"\(.role) \(.csrf)"')"
call GET "/api/v1/executions?limit=1" "" "" -H "Cookie: $VIEWER_COOKIE"
expect_eq "the cookie stands for the token on the API" 200 "$CODE"
expect_contains "...and the access log names the token" '"token":"viewer-1"' "$(tail -5 serve.err)"
call POST /api/v1/flows/hello/executions "" '{"inputs":{"who":"viewer-ui"}}' -H "Cookie: $VIEWER_COOKIE" -H "X-CSRF-Token: $VIEWER_CSRF"
expect_eq "a viewer's session may not start executions" "403 forbidden" "$CODE $(echo "$BODY" | jq -r .error.kind)"
sign_in "$OPERATOR"
OP_COOKIE=$COOKIE OP_CSRF=$CSRF
before=$(execution_count)
call POST /api/v1/flows/hello/executions "" '{"inputs":{"who":"forged"}}' -H "Cookie: $OP_COOKIE"
expect_eq "a change made with the cookie alone (what another site's page can make a browser send): 403" \
  "403 csrf" "$CODE $(echo "$BODY" | jq -r .error.kind)"
call POST /api/v1/flows/hello/executions "" '{"inputs":{"who":"forged"}}' -H "Cookie: $OP_COOKIE" -H "X-CSRF-Token: $VIEWER_CSRF"
expect_eq "...or with another session's CSRF token: 403" 403 "$CODE"
expect_eq "...and nothing was started" "$before" "$(execution_count)"
call POST "/api/v1/flows/hello/executions?wait=20s" "" '{"inputs":{"who":"Ursula Interface"}}' -H "Cookie: $OP_COOKIE" -H "X-CSRF-Token: $OP_CSRF"
expect_eq "with its CSRF token, an operator's session starts one" "200 succeeded" "$CODE $(echo "$BODY" | jq -r .status)"
UI_ID=$(echo "$BODY" | jq -r .execution_id)
call GET "/api/v1/executions/$UI_ID" "$VIEWER"
expect_eq "who started it: the session's token" "token op-1 api" "$(echo "$BODY" | jq -r '"\(.triggered_by) \(.trigger_detail.type)"')"
call POST /api/v1/flows/hello/executions "$OPERATOR" '{"inputs":{"who":"bearer"}}' -H "Cookie: spokeflow_session=bogus"
expect_eq "a token in Authorization needs no CSRF token (no browser sends one on its own)" 202 "$CODE"
call GET "/api/v1/executions?q=ursula%20INTER" "$VIEWER"
expect_eq "search by an input value (case ignored)" "200 $UI_ID" "$CODE $(echo "$BODY" | jq -r '[.executions[].id] | join(",")')"
call GET "/api/v1/executions?q=${UI_ID:0:20}" "$VIEWER"
expect_eq "search by the start of an id" "$UI_ID" "$(echo "$BODY" | jq -r '[.executions[].id] | join(",")')"
call GET "/api/v1/executions?q=$(head -c 201 /dev/zero | tr '\0' 'a')" "$VIEWER"
expect_eq "a search over 200 characters: 400" 400 "$CODE"
call POST /ui/session/sign-out "" "" -H "Cookie: $OP_COOKIE"
expect_eq "signing out needs the CSRF token too" 403 "$CODE"
call POST /ui/session/sign-out "" "" -H "Cookie: $OP_COOKIE" -H "X-CSRF-Token: $OP_CSRF"
expect_eq "signed out" 204 "$CODE"
expect_contains "...the cookie is cleared" "Max-Age=0" "$HDRS"
call GET "/api/v1/executions?limit=1" "" "" -H "Cookie: $OP_COOKIE"
expect_eq "...and the old cookie is refused" 401 "$CODE"
"$SF" tokens create ui-short --role viewer > ui_short.txt
sign_in "$(tail -1 ui_short.txt)"
expect_eq "a second viewer signs in" 200 "$CODE"
"$SF" tokens revoke ui-short > /dev/null
call GET /ui/session "" "" -H "Cookie: $COOKIE"
expect_eq "revoking the token ends its sessions at once" 401 "$CODE"
expect_contains "...saying why" "revoked" "$(echo "$BODY" | jq -r .error.message)"
expect_no_secret "no session's token in the service's output" "$OPERATOR" serve.out serve.err

echo "# limits: a malformed request or a large body gets a 4xx and disturbs nothing"
printf 'GARBAGE\r\n\r\n' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/${API##*:}; cat >&3; cat <&3" > garbage.txt || true
expect_contains "malformed: 400" "HTTP/1.1 400" "$(head -1 garbage.txt)"
expect_contains "...with a request id like every answer" "X-Request-Id: " "$(cat garbage.txt)"
head -c 300000 /dev/zero | tr '\0' 'a' > big.txt
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $OPERATOR" -H 'Content-Type: application/json' \
  --data-binary @big.txt "$API/api/v1/flows/hello/executions")
expect_eq "a body over the cap: 413" 413 "$code"
# Nesting within the size cap (90,000 levels in 180 KB) overflowed the stack when the event was
# copied: one hostile delivery or trigger stopped the service.
deep=$(head -c 90000 /dev/zero | tr '\0' '['; head -c 90000 /dev/zero | tr '\0' ']')
printf '{"eventId": "deep-1", "data": {"events": [{"uuid": "deep-u1", "eventType": "user.session.start", "x": %s}]}}' \
  "$deep" > deep_hook.json
expect_eq "a delivery nested too deep: 400" 400 "$(post_hook deep_hook.json "$HOOK_SECRET")"
expect_contains "...saying so" "nested" "$(jq -r .error.message hook.json)"
printf '{"inputs": {"name": %s}}' "$deep" > deep_inputs.json
call POST /api/v1/flows/hello/executions "$OPERATOR" "@deep_inputs.json"
expect_eq "inputs nested too deep: 400" 400 "$CODE"
expect_contains "...saying so" "nested" "$(echo "$BODY" | jq -r .error.message)"
call GET /healthz ""
expect_eq "the service still serves" 200 "$CODE"
start=$SECONDS
exec 4<>"/dev/tcp/127.0.0.1/${API##*:}"
printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n' >&4   # never finished
call GET /healthz ""
expect_eq "others are served meanwhile" 200 "$CODE"
timeout 10 cat <&4 > /dev/null || true
expect_eq "a request that never finishes is cut by the read timeout" 1 "$(( SECONDS - start < 10 ? 1 : 0 ))"
exec 4>&-

echo "# secrets stay out of what the service writes"
for s in "$OPERATOR" "$ADMIN" "$HOOK_SECRET" "$TOKEN"; do
  expect_no_secret "no token or hook secret in the service's output or the store" "$s" serve.out serve.err "$WORK/store.db" "$WORK/store.db-wal"
done

echo "# SIGTERM: stops accepting, drains, exits 0"
call POST /api/v1/flows/hello/executions "$OPERATOR" '{"inputs":{"who":"late","pause":"30s"}}'
LATE=$(echo "$BODY" | jq -r .execution_id)
wait_until 30 '[ "$("$SF" executions show "$LATE" --json | jq -r .status)" != queued ]'
# A follower that leaves while the execution waits: its stream must end with it (it polled the
# store until the execution ended, and kept a stopping service from exiting).
timeout 10 curl -s -N -m 2 -H "Authorization: Bearer $VIEWER" "$API/api/v1/executions/$LATE/events" > left.txt || true
expect_contains "the follower saw the wait start" '"path":"pause"' "$(cat left.txt)"
kill -TERM "$SERVE_PID"
stopped_in=0
for i in $(seq 1 60); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 1; stopped_in=$i; done
expect_eq "serve stops within 60 s of SIGTERM" 1 "$(kill -0 "$SERVE_PID" 2>/dev/null && echo 0 || echo 1)"
kill -KILL "$SERVE_PID" 2>/dev/null || true
set +e; wait "$SERVE_PID"; rc=$?; set -e
SERVE_PID=
echo "  stopped ${stopped_in}s after SIGTERM"
expect_eq "exit 0" 0 "$rc"
late_status=$("$SF" executions show "$LATE" --json | jq -r .status)
case $late_status in
  waiting | queued) pass "an execution in a wait stays runnable, not cancelled" ;;
  *) fail "an execution in a wait stays runnable, not cancelled: it is [$late_status]" ;;
esac
finish
