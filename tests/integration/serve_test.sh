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


"$OKTA_SIM" --port 0 --api-token "$TOKEN" --log-level error > sim.out 2> sim.err &
SIM_PID=$!
SERVE_PID=
cleanup() {
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null
  kill "$SIM_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
wait_for 60 grep -q listening sim.out || { echo "okta-sim did not start"; cat sim.err; exit 1; }
BASE=$(sed -n 's/^listening on //p' sim.out)
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
expect_eq "a viewer lists the flows" "200 breaks,hello,hook_setup,on_sign_in,on_user_created" \
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
wait_for 60 test "$("$SF" executions show "$ID1" --json | jq -r .status)" == succeeded
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
wait_for 30 test "$("$SF" executions show "$SLOW" --json | jq -r .status)" != queued
call POST "/api/v1/executions/$SLOW/cancel" "$VIEWER"
expect_eq "a viewer may not cancel" 403 "$CODE"
call POST "/api/v1/executions/$SLOW/cancel" "$OPERATOR"
expect_eq "cancel accepted" 202 "$CODE"
wait_for 30 test "$("$SF" executions show "$SLOW" --json | jq -r .status)" == cancelled
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
wait_for 30 test "$("$SF" executions show "$BROKE" --json | jq -r .status)" == succeeded
expect_eq "...it continues and succeeds" succeeded "$("$SF" executions show "$BROKE" --json | jq -r .status)"
call POST "/api/v1/executions/$ID1/rerun" "$OPERATOR"
RERUN=$(echo "$BODY" | jq -r .execution_id)
expect_eq "rerun: a new execution" "202 $ID1" "$CODE $(echo "$BODY" | jq -r .rerun_of)"
wait_for 30 test "$("$SF" executions show "$RERUN" --json | jq -r .status)" == succeeded
expect_eq "...with the same inputs" '"ann"' "$("$SF" executions show "$RERUN" --json | jq -c .inputs.who)"

echo "# following an execution (server-sent events)"
call POST /api/v1/flows/hello/executions "$OPERATOR" '{"inputs":{"who":"eve","pause":"1s"}}'
EVE=$(echo "$BODY" | jq -r .execution_id)
timeout 30 curl -s -N -H "Authorization: Bearer $VIEWER" "$API/api/v1/executions/$EVE/events" > events.txt || true
expect_eq "each step as it finishes, then the end" "pause:succeeded greet:succeeded end" \
  "$(sed -n 's/^data: //p' events.txt | jq -r 'if .path then select(.status != "running") | "\(.path):\(.status)" else "end" end' | tr '\n' ' ' | sed 's/ $//')"
expect_contains "...the end says succeeded" '"status":"succeeded"' "$(grep -A1 '^event: end' events.txt)"

echo "# the API's description matches the routes"
call GET /api/v1/openapi.json ""
expect_eq "served" "200 3.1.0" "$CODE $(echo "$BODY" | jq -r .openapi)"
echo "$BODY" > openapi.json
missing=
while IFS=' ' read -r method path; do
  p=${path//\{name\}/hello}
  [[ "$path" == /api/v1/actions/* ]] && p=${path//\{name\}/core.echo}
  [[ "$path" == /hooks/* ]] && p=${path//\{name\}/okta}
  p=${p//\{id\}/$ID1}
  M=$(echo "$method" | tr a-z A-Z)
  [[ "$path" == */events ]] && { code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' -H "Authorization: Bearer $ADMIN" "$API$p" || true); } \
    || code=$(curl -s -o /dev/null -w '%{http_code}' -X "$M" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' --data-binary '{}' "$API$p")
  case "$code" in 404|405|000) missing="$missing $M:$path($code)" ;; esac
done < <(jq -r '.paths | to_entries[] | .key as $p | .value | keys[] | "\(.) \($p)"' openapi.json)
expect_eq "every documented route answers" "" "$missing"
undocumented=
for route in "GET /healthz" "GET /readyz" "GET /metrics" "GET /api/v1/openapi.json" "GET /api/v1/flows" "GET /api/v1/flows/{name}" \
  "POST /api/v1/flows/{name}/executions" "GET /api/v1/actions" "GET /api/v1/actions/{name}" "GET /api/v1/executions" \
  "GET /api/v1/executions/{id}" "GET /api/v1/executions/{id}/events" "POST /api/v1/executions/{id}/cancel" \
  "POST /api/v1/executions/{id}/retry" "POST /api/v1/executions/{id}/rerun" "GET /hooks/okta/{name}" "POST /hooks/okta/{name}"; do
  m=$(echo "${route%% *}" | tr A-Z a-z)
  jq -e --arg p "${route#* }" --arg m "$m" '.paths[$p][$m]' openapi.json > /dev/null || undocumented="$undocumented [$route]"
done
expect_eq "every route the server has is documented" "" "$undocumented"
n_routes=$(jq '[.paths[] | keys[]] | length' openapi.json)
expect_eq "...and the document has no route beyond them" 17 "$n_routes"

echo "# Okta event hooks, end to end with okta-sim"
HOOK_URL="$API/hooks/okta/okta"
curl -s -o /dev/null -w '%{http_code}' -H "x-okta-verification-challenge: abc" "$HOOK_URL" > code.txt
expect_eq "verification without the secret: 401" 401 "$(cat code.txt)"
run_capture "$SF" run hook_setup --flows-dir "$SFLOWS" --input url="$HOOK_URL" --input auth="$HOOK_SECRET" --json
expect_eq "a flow creates the hook and okta-sim verifies it" "0 VERIFIED" "$RC $(echo "$OUT" | jq -r .outputs.verification)"
okta() { curl -s -H "Authorization: SSWS $TOKEN" -H "Accept: application/json" -H "Content-Type: application/json" "$@"; }
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
wait_for 30 test "$("$SF" executions show "$LATE" --json | jq -r .status)" != queued
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
expect_contains "an execution in a wait stays runnable, not cancelled" "$("$SF" executions show "$LATE" --json | jq -r .status)" "waiting queued"
finish
