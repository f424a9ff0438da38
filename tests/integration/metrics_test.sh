#!/usr/bin/env bash
# `spokeflow serve`'s /metrics and structured logs (issue 18, "Operations"; issue 21's JSON log
# fields). Runs flows over the API, an event-hook delivery (with a duplicate and rejected ones),
# a schedule fire made up after "downtime", Okta calls with 429s, and a parked execution; scrapes
# /metrics before and after and checks that each sample moved by the right amount. Checks that
# /metrics needs a token, that no label holds what a caller sent, and that with --log-format json
# every line is a JSON object, the access log names the token (never the token itself) and engine
# lines carry execution_id, flow and step as fields.
source "$(dirname "$0")/lib.sh"
: "${OKTA_SIM:?path to the okta-sim binary}"
SF="$SPOKEFLOW"
cd "$WORK"
MFLOWS="$TEST_DIR/integration/metrics_flows"
TOKEN=sim-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
export HOOK_AUTH="hook-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export SPOKEFLOW_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SPOKEFLOW_VAULT="$WORK/vault.json"

start_sim
SERVE_PID=
TEXT_PID=
cleanup() {
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2> /dev/null
  [ -n "$TEXT_PID" ] && kill "$TEXT_PID" 2> /dev/null
  kill "$SIM_PID" 2> /dev/null || true
  wait 2> /dev/null || true
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
sim_listening
printf '%s\n' "$TOKEN" | "$SF" secrets set sim_token > /dev/null
cat > connections.yaml <<YAML
aliases:
  okta: { connection: sim, retry: { max_attempts: 10, initial_interval: 100ms, max_interval: 2s } }
connections:
  sim: { base_url: "$BASE", credential: sim_token, allow_insecure_http: true }
credentials:
  sim_token: { type: okta_api_token, token: { secret: sim_token } }
YAML
export SPOKEFLOW_CONNECTIONS="$WORK/connections.yaml"
for u in ada bob cy dee; do
  okta -X POST "$BASE/api/v1/users?activate=true" \
    -d "{\"profile\":{\"firstName\":\"$u\",\"lastName\":\"M\",\"email\":\"$u@example.com\",\"login\":\"$u@example.com\"}}" > /dev/null
done

VIEWER=$("$SF" tokens create viewer-1 --role viewer | tail -1)
OPERATOR=$("$SF" tokens create op-1 --role operator | tail -1)

# The service was "down" since the nightly fire five days ago: at start it makes the last fire
# due since (catchup: last) and counts the others as missed.
day=86400000
last_fire=$(( ($(date +%s) * 1000 / day - 5) * day + (3 * 3600 + 30 * 60) * 1000 ))
sqlite3 "$SPOKEFLOW_STORE" "INSERT INTO schedule_fires(flow, trigger, scheduled_at, recorded_at, outcome, execution_id, missed)
  VALUES('nightly', '0:30 3 * * *@UTC', $last_fire, $last_fire, 'enqueued', NULL, 0)"

cat > serve.yaml <<YAML
listen: 127.0.0.1:0
flows_dir: $MFLOWS
worker: { concurrency: 8, lease: 5s, park_after: 1s }
hooks:
  okta: { authorization: { env: HOOK_AUTH } }
YAML
"$SF" serve --config serve.yaml --log-level info --log-format json > serve.out 2> serve.err &
SERVE_PID=$!
wait_for 60 grep -q '^listening on ' serve.out || { echo "serve did not start"; cat serve.err; exit 1; }
API=$(sed -n 's/^listening on //p' serve.out | head -1)

# call METHOD PATH TOKEN [BODY] [curl args...]: status in CODE, body in BODY, headers in HDRS
call() {
  local method=$1 path=$2 tok=$3 body=${4:-}
  shift 4 2> /dev/null || shift $#
  local args=(-s -o body.txt -D headers.txt -w '%{http_code}' -X "$method" "$API$path")
  [ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  CODE=$(curl "${args[@]}" "$@")
  BODY=$(cat body.txt)
  HDRS=$(cat headers.txt)
}
scrape() { curl -s -H "Authorization: Bearer $VIEWER" "$API/metrics" > "$1"; }
# metric FILE SERIES: the sample's value (0 when the series is not there yet)
metric() { awk -v s="$2" 'index($0, s " ") == 1 { v = $2; found = 1 } END { print found ? v : 0 }' "$1"; }
# moved WHAT SERIES EXPECTED [BEFORE AFTER]: the series grew by EXPECTED between two scrapes
moved() {
  local before=$(metric "${4:-m0.txt}" "$2") after=$(metric "${5:-m1.txt}" "$2")
  expect_eq "$1" "$3" "$(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }')"
}
status_of() { "$SF" executions show "$1" --json | jq -r .status; }
count_status() { "$SF" executions list --flow "$1" --status "$2" --limit 1000 --json | jq length; }

echo "# the schedule fire made up at start"
wait_until 60 '[ "$(count_status nightly succeeded)" = 1 ]'
expect_eq "one nightly execution, started by the schedule" "1 schedule" \
  "$(count_status nightly succeeded) $("$SF" executions list --flow nightly --json | jq -r '.[0].trigger.type')"
MISSED=$(jq -r 'select(.flow == "nightly" and (.message | test("fires were due"))) | .message' serve.err |
  sed -n 's/.*: \([0-9]*\) fires were due.*/\1/p' | head -1)
expect_eq "the fires before the last were missed (4 or 5 days, less the one made)" 1 "$([ "${MISSED:-0}" -ge 3 ] && echo 1 || echo 0)"

echo "# /metrics needs a token, like the rest of the API"
call GET /metrics ""
expect_eq "no token: 401" "401 auth" "$CODE $(echo "$BODY" | jq -r .error.kind)"
expect_contains "...asking for a bearer token" "WWW-Authenticate: Bearer" "$HDRS"
call GET /metrics "not-a-token"
expect_eq "an unknown token: 401" 401 "$CODE"
call POST /metrics "$VIEWER"
expect_eq "only GET" 405 "$CODE"
call GET /metrics "$VIEWER"
expect_eq "a viewer reads them" 200 "$CODE"
expect_contains "in Prometheus text format" "Content-Type: text/plain; version=0.0.4" "$HDRS"
echo "$BODY" > m_first.txt
expect_eq "the made-up fire is counted" 1 "$(metric m_first.txt 'spokeflow_schedule_fires_total{flow="nightly"}')"
expect_eq "...and the missed ones" "$MISSED" \
  "$(metric m_first.txt 'spokeflow_schedule_skipped_fires_total{flow="nightly",reason="missed"}')"
expect_eq "...its execution started by the schedule" 1 \
  "$(metric m_first.txt 'spokeflow_executions_started_total{flow="nightly",trigger="schedule"}')"
scrape m0.txt

echo "# executions over the API"
for who in alice bert carla; do
  call POST "/api/v1/flows/greet/executions?wait=20s" "$OPERATOR" "{\"inputs\":{\"who\":\"$who\"}}" -H "X-Request-Id: obs-greet-$who"
  expect_eq "greet $who: succeeded" "200 succeeded" "$CODE $(echo "$BODY" | jq -r .status)"
done
GREET_ID=$(echo "$BODY" | jq -r .execution_id)
call POST "/api/v1/flows/fails/executions?wait=20s" "$OPERATOR" '{}'
expect_eq "fails: failed" "200 failed" "$CODE $(echo "$BODY" | jq -r .status)"
call POST "/api/v1/flows/lookup/executions?wait=20s" "$OPERATOR" '{"inputs":{"user":"ada@example.com"}}'
expect_eq "lookup: succeeded" "200 succeeded" "$CODE $(echo "$BODY" | jq -r .status)"
call GET /api/v1/executions/PROBEID0000000000000000007 "$VIEWER"
expect_eq "an unknown execution: 404" 404 "$CODE"
call GET /no/such/route/probe-path-xyz "$VIEWER"
expect_eq "an unknown route: 404" 404 "$CODE"
call POST /api/v1/flows/parked/executions "$OPERATOR" '{}'
PARKED=$(echo "$BODY" | jq -r .execution_id)
wait_until 60 '[ "$(status_of "$PARKED")" = waiting ]'

echo "# event-hook deliveries"
HOOK_URL="$API/hooks/okta/okta"
delivery() {  # delivery EVENT_ID N_EVENTS
  jq -n --arg id "$1" --argjson n "$2" '{eventType: "com.okta.event_hook", eventTypeVersion: "1.0",
    cloudEventsVersion: "0.1", source: "test", eventId: $id, eventTime: "2026-12-07T10:00:00.000Z",
    contentType: "application/json", data: {events: [range($n) | {uuid: "\($id)-\(.)", published: "2026-12-07T10:00:00.000Z",
    eventType: "user.session.start", displayMessage: "x", actor: {id: "00uhook\(.)", type: "User"}, target: []}]}}'
}
post_hook() { curl -s -o hook.json -w '%{http_code}' -H "Authorization: $2" -H 'Content-Type: application/json' --data-binary "@$1" "$HOOK_URL"; }
delivery evt-m1 3 > d1.json
expect_eq "a delivery of 3 events starts 3" "200 3" "$(post_hook d1.json "$HOOK_AUTH") $(jq .started hook.json)"
expect_eq "the same delivery again: a duplicate" "200 true" "$(post_hook d1.json "$HOOK_AUTH") $(jq .duplicate hook.json)"
expect_eq "without the secret: 401" 401 "$(post_hook d1.json wrong-secret)"
echo '{"eventId": 5}' > bad.json
expect_eq "not a delivery: 400" 400 "$(post_hook bad.json "$HOOK_AUTH")"

echo "# requests the server refuses before any handler: counted and logged like the others"
printf 'GARBAGE\r\n\r\n' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/${API##*:}; cat >&3; cat <&3" > garbage.txt || true
expect_contains "a malformed request: 400" "HTTP/1.1 400" "$(head -1 garbage.txt)"
head -c 1100000 /dev/zero | tr '\0' 'a' > big.txt
expect_eq "a body over the cap (1 MiB): 413" 413 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $OPERATOR" \
  -H 'Content-Type: application/json' -H 'X-Request-Id: obs-too-big' --data-binary @big.txt "$API/api/v1/flows/greet/executions")"
expect_eq "headers over the cap (16 KiB): 431" 431 "$(curl -s -o /dev/null -w '%{http_code}' \
  -H "X-Padding: $(head -c 20000 /dev/zero | tr '\0' 'p')" "$API/api/v1/flows")"
wait_until 60 '[ "$(count_status greet succeeded)" = 6 ]'
expect_eq "the 3 events' executions ran" 6 "$(count_status greet succeeded)"
scrape m1.txt

echo "# each sample moved by what was done"
moved "greet started over the API: +3" 'spokeflow_executions_started_total{flow="greet",trigger="api"}' 3
moved "greet started by events: +3" 'spokeflow_executions_started_total{flow="greet",trigger="okta_event"}' 3
moved "greet succeeded: +6" 'spokeflow_executions_finished_total{flow="greet",status="succeeded"}' 6
moved "fails failed: +1" 'spokeflow_executions_finished_total{flow="fails",status="failed"}' 1
moved "lookup succeeded: +1" 'spokeflow_executions_finished_total{flow="lookup",status="succeeded"}' 1
moved "a parked execution is not finished" 'spokeflow_executions_finished_total{flow="parked",status="succeeded"}' 0
moved "core.log steps timed: +6" 'spokeflow_step_duration_seconds_count{action="core.log"}' 6
moved "core.echo steps timed: +6" 'spokeflow_step_duration_seconds_count{action="core.echo"}' 6
moved "...all under 10 s" 'spokeflow_step_duration_seconds_bucket{action="core.echo",le="10"}' 6
moved "core.fail: +1" 'spokeflow_step_duration_seconds_count{action="core.fail"}' 1
moved "okta.get_user: +1" 'spokeflow_step_duration_seconds_count{action="okta.get_user"}' 1
moved "one Okta request, answered 200" 'spokeflow_connection_requests_total{connection="sim",status="200"}' 1
remaining=$(metric m1.txt 'spokeflow_rate_limit_remaining{bucket="user_get",connection="sim"}')
expect_eq "the user_get bucket's X-Rate-Limit-Remaining is kept" 1 \
  "$(awk -v r="$remaining" 'BEGIN { print (r > 0 && r < 2000) ? 1 : 0 }')"
expect_eq "one parked execution in the queue" 1 "$(metric m1.txt 'spokeflow_queue_executions{state="waiting"}')"
expect_contains "...and the queue's other states, at 0 or more" 'spokeflow_queue_executions{state="queued"}' "$(cat m1.txt)"
moved "deliveries accepted: +1" 'spokeflow_hook_deliveries_total{hook="okta",outcome="accepted"}' 1
moved "duplicates: +1" 'spokeflow_hook_deliveries_total{hook="okta",outcome="duplicate"}' 1
moved "rejected (no secret, not a delivery): +2" 'spokeflow_hook_deliveries_total{hook="okta",outcome="rejected"}' 2
moved "events received: +3" 'spokeflow_hook_events_total{hook="okta"}' 3
moved "events that started flows: +3" 'spokeflow_hook_executions_started_total{hook="okta"}' 3
moved "no schedule fire meanwhile" 'spokeflow_schedule_fires_total{flow="nightly"}' 0
moved "POST executions 200 (?wait): +5" \
  'spokeflow_http_requests_total{method="POST",route="/api/v1/flows/{name}/executions",status="200"}' 5
moved "...202: +1" 'spokeflow_http_requests_total{method="POST",route="/api/v1/flows/{name}/executions",status="202"}' 1
moved "...with their latency (and the one refused for its size below)" \
  'spokeflow_http_request_duration_seconds_count{method="POST",route="/api/v1/flows/{name}/executions"}' 7
moved "an unknown id: by its route template" \
  'spokeflow_http_requests_total{method="GET",route="/api/v1/executions/{id}",status="404"}' 1
moved "an unknown path: 'other'" 'spokeflow_http_requests_total{method="GET",route="other",status="404"}' 1
moved "the 401 on /metrics is counted" 'spokeflow_http_requests_total{method="GET",route="/metrics",status="401"}' 0 m_first.txt m0.txt
expect_eq "...twice before (no token, unknown token)" 2 \
  "$(metric m0.txt 'spokeflow_http_requests_total{method="GET",route="/metrics",status="401"}')"
moved "a malformed request: counted, its route and method unknown" \
  'spokeflow_http_requests_total{method="other",route="other",status="400"}' 1
moved "a body over the cap: counted by its route" \
  'spokeflow_http_requests_total{method="POST",route="/api/v1/flows/{name}/executions",status="413"}' 1
moved "headers over the cap: counted" 'spokeflow_http_requests_total{method="other",route="other",status="431"}' 1
moved "hook deliveries by their route" 'spokeflow_http_requests_total{method="POST",route="/hooks/okta/{name}",status="401"}' 1
for probe in PROBEID0000000000000000007 probe-path-xyz alice "$PARKED" 00uhook evt-m1 "$OPERATOR"; do
  expect_not_contains "no label holds what a caller sent ($([ "$probe" = "$OPERATOR" ] && echo token || echo "$probe"))" \
    "$probe" "$(cat m1.txt)"
done

echo "# 429s: okta-sim lets one request in at a time; four go at once"
curl -s -X PUT -H 'Content-Type: application/json' "$BASE/__sim/config" \
  -d '{"rate_limits": {"concurrency": 1}, "faults": {"latency_ms": 300}}' > /dev/null
call POST "/api/v1/flows/lookups/executions?wait=60s" "$OPERATOR" \
  '{"inputs":{"users":["ada@example.com","bob@example.com","cy@example.com","dee@example.com"]}}'
expect_eq "lookups: succeeded after waiting out the 429s" "200 succeeded" "$CODE $(echo "$BODY" | jq -r .status)"
curl -s -X PUT -H 'Content-Type: application/json' "$BASE/__sim/config" \
  -d '{"rate_limits": {"concurrency": 75}, "faults": {"latency_ms": 0}}' > /dev/null
scrape m2.txt
moved "each of the four answered 200 once" 'spokeflow_connection_requests_total{connection="sim",status="200"}' 4 m1.txt m2.txt
n429=$(awk -v a="$(metric m2.txt 'spokeflow_rate_limited_total{connection="sim"}')" \
  -v b="$(metric m1.txt 'spokeflow_rate_limited_total{connection="sim"}')" 'BEGIN { print a - b }')
expect_eq "429s were counted" 1 "$([ "$n429" -ge 1 ] && echo 1 || echo 0)"
moved "...as many as the requests answered 429" 'spokeflow_connection_requests_total{connection="sim",status="429"}' "$n429" m1.txt m2.txt
moved "okta.get_user: +4 steps" 'spokeflow_step_duration_seconds_count{action="okta.get_user"}' 4 m1.txt m2.txt

echo "# JSON logs: one object a line, with fields"
bad=$(jq -R -c 'try fromjson catch "NOT JSON"' serve.err | grep -c '^"NOT JSON"$' || true)
expect_eq "every line of the log is a JSON object" 0 "$bad"
expect_eq "...of which some are" 1 "$([ "$(wc -l < serve.err)" -gt 20 ] && echo 1 || echo 0)"
jq -c 'select(.message == "http request" and .request_id == "obs-greet-bert")' serve.err > access.json
expect_eq "one access-log line per request, with its fields" \
  '1 POST /api/v1/flows/{name}/executions 200 op-1 127.0.0.1 number true' \
  "$(wc -l < access.json | tr -d ' ') $(jq -r '"\(.method) \(.route) \(.status) \(.token) \(.peer) \(.duration_ms | type) \(.bytes > 0)"' access.json)"
expect_eq "an access line for each request: the scrapes too" 1 \
  "$([ "$(jq -c 'select(.message == "http request" and .route == "/metrics" and .token == "viewer-1")' serve.err | wc -l)" -ge 4 ] && echo 1 || echo 0)"
expect_eq "...and the refused ones, with no token name" "null" \
  "$(jq -r 'select(.message == "http request" and .route == "/metrics" and .status == 401) | .token' serve.err | sort -u)"
expect_eq "a refused request's access line: its request id, route and status" \
  'POST /api/v1/flows/{name}/executions 413 127.0.0.1' \
  "$(jq -r 'select(.message == "http request refused before its handler" and .request_id == "obs-too-big") |
    "\(.method) \(.route) \(.status) \(.peer)"' serve.err)"
expect_eq "...the malformed one's and the large headers' too" '400 431' \
  "$(jq -r 'select(.message == "http request refused before its handler" and .status != 413) | .status' serve.err |
    sort | tr '\n' ' ' | sed 's/ $//')"
expect_eq "the raw path stays out of the access log" 0 "$(grep -c 'probe-path-xyz\|PROBEID' serve.err || true)"
jq -c 'select(.message == "hello bert")' serve.err > log_line.json
expect_eq "core.log's line: execution_id, flow and step are fields" "1 greet say bert" \
  "$(wc -l < log_line.json | tr -d ' ') $(jq -r '"\(.flow) \(.step) \(.fields.who)"' log_line.json)"
BERT=$("$SF" executions list --flow greet --json | jq -r '.[] | select(.outputs.who == "bert") | .id')
expect_eq "...the execution's id" "$BERT" "$(jq -r .execution_id log_line.json)"
expect_eq "execution ids are not inside engine messages" 0 \
  "$(jq -r 'select(.execution_id != null) | .message' serve.err | grep -c "$BERT\|$PARKED" || true)"
expect_eq "an event-hook line names the hook and delivery as fields" "okta evt-m1" \
  "$(jq -r 'select(.hook != null and .event_id == "evt-m1" and (.message | test("started 3"))) | "\(.hook) \(.event_id)"' serve.err)"
for s in "$OPERATOR" "$VIEWER" "$HOOK_AUTH" "$TOKEN"; do
  expect_no_secret "no token or hook secret in the service's log or the metrics" "$s" serve.out serve.err m0.txt m1.txt m2.txt
done

# Stopped first: the second service must be the only worker, or the first could run its execution.
kill -TERM "$SERVE_PID"
set +e; wait "$SERVE_PID"; rc=$?; set -e
SERVE_PID=
expect_eq "serve exits 0 on SIGTERM" 0 "$rc"

echo "# text logs stay readable"
"$SF" serve --config serve.yaml --log-level info --log-format text > text.out 2> text.err &
TEXT_PID=$!
wait_for 60 grep -q '^listening on ' text.out || { echo "the second serve did not start"; cat text.err; exit 1; }
TEXT_API=$(sed -n 's/^listening on //p' text.out | head -1)
curl -s -o /dev/null -H "X-Request-Id: obs-text-1" "$TEXT_API/healthz"
curl -s -o /dev/null -H "Authorization: Bearer $OPERATOR" -H 'Content-Type: application/json' \
  --data-binary '{"inputs":{"who":"textual"}}' "$TEXT_API/api/v1/flows/greet/executions?wait=20s"
kill -TERM "$TEXT_PID"; wait "$TEXT_PID" 2> /dev/null || true; TEXT_PID=
access=$(grep 'request_id=obs-text-1' text.err || true)
expect_contains "an access line reads as key=value" "info http request " "$access"
expect_contains "...with the route and status" "route=/healthz" "$access"
expect_contains "..." "status=200" "$access"
TEXTUAL=$("$SF" executions list --flow greet --json | jq -r '.[] | select(.outputs.who == "textual") | .id')
expect_contains "an engine line starts with [execution step]" "[$TEXTUAL say] hello textual" "$(cat text.err)"
expect_eq "no line of the text log is JSON" 0 "$(grep -c '^{' text.err || true)"
expect_no_secret "no token in the text log" "$OPERATOR" text.err

finish
