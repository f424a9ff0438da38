#!/usr/bin/env bash
# The secret canary (issue 16, part 2). Plants secrets whose values only this test knows: an
# API token in the vault, a `sensitive: true` flow input, an OAuth service app's private key, a
# client secret and refresh token, the master key, and what okta-sim hands out (activation and
# reset links, temporary passwords, the client assertions signed with the key). Then runs the
# shipped flows and the CLI commands (run, resume, executions list/show without --reveal,
# connections list/test, validate, secrets list) and `serve` (its access log, engine lines and
# /metrics, with an API token) at trace level in both log formats, and
# searches everything the project wrote (stdout, stderr, the SQLite store, its WAL held open so
# that nothing is checkpointed away, every file under the project's folder, HOME and TMPDIR)
# for each secret in clear, base64 (standard and URL-safe, at every byte alignment), hex
# (lower and upper case), URL-encoded, JSON-escaped, upper and lower case. 0 hits are required.
# A hit names the secret, the form, the file and the byte offset, never the value.
source "$(dirname "$0")/lib.sh"
: "${OKTA_SIM:?path to the okta-sim binary}"
for tool in sqlite3 openssl jq base64 od awk; do
  command -v "$tool" > /dev/null || { echo "the $tool command is needed (scripts/setup.sh installs it)"; exit 1; }
done

# inputs/: what the test itself writes (seed, keys, the list of canaries): not searched.
# project/: the folder every spokeflow command runs in, its HOME and TMPDIR, the store, the
#           vault and the connections files: searched, every file in it.
# captured/: every command's stdout and stderr: searched. The HTTP API's answers and the web
#           view's pages belong here once they exist (issue 16: "the HTTP API's answers and the
#           web view once they exist"): fetch every endpoint and page that shows an execution,
#           a connection or a secret name into captured/ and they are searched like the rest.
INPUTS="$WORK/inputs" PROJ="$WORK/project" CAPT="$WORK/captured"
mkdir -m 700 "$INPUTS" "$PROJ" "$CAPT"
mkdir -p "$PROJ/home/.config" "$PROJ/home/.local/share" "$PROJ/tmp"
export HOME="$PROJ/home" XDG_CONFIG_HOME="$PROJ/home/.config" XDG_DATA_HOME="$PROJ/home/.local/share" TMPDIR="$PROJ/tmp"
export SPOKEFLOW_STORE="$PROJ/store.db" SPOKEFLOW_VAULT="$PROJ/vault.json" SPOKEFLOW_MASTER_KEY_FILE="$PROJ/no-key-file"
export SPOKEFLOW_CONNECTIONS="$PROJ/connections.yaml"

rand() { LC_ALL=C tr -dc 'A-Za-z0-9' < /dev/urandom | head -c "$1" || true; }
# The canaries. '+', '/' and '=' make the URL-encoded and JSON-escaped forms differ from the clear
# one; the sensitive input has no '/' so that, used as an id, it reaches the path encoder.
export SPOKEFLOW_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
TOKEN="ssws$(rand 20)+/=$(rand 8)"
PASSWORD="Cp9$(rand 18)+=$(rand 6)"
WEB_SECRET="wsc$(rand 22)/+$(rand 6)"
REFRESH="rtc$(rand 30)"
SVC_CLIENT=0oacanarysvc0000001
WEB_CLIENT=0oacanaryweb0000001
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$INPUTS/svc.key" 2> /dev/null
openssl pkey -in "$INPUTS/svc.key" -pubout -out "$INPUTS/svc.pub" 2> /dev/null
# The private scalar, as bytes (a JWK's `d` is its base64url) and the PEM lines holding it.
openssl pkey -in "$INPUTS/svc.key" -text -noout 2> /dev/null |
  awk '/^priv:/ {on = 1; next} /^pub:/ {on = 0} on' | tr -d ' :\n' | sed 's/^00\(.\{64\}\)$/\1/' > "$INPUTS/svc-d.hex"
[ "$(wc -c < "$INPUTS/svc-d.hex")" -eq 64 ] || { echo "cannot read the key's private scalar"; exit 1; }
KEY_LINE1=$(sed -n 2p "$INPUTS/svc.key")
KEY_LINE2=$(sed -n 3p "$INPUTS/svc.key")

cat > "$INPUTS/seed.yaml" <<YAML
admin: { login: admin@example.com, firstName: Ada, lastName: Admin }
groups:
  - { name: Engineering }
  - { name: Sales }
users:
  - { login: alice@example.com, firstName: Alice, lastName: Smith, password: Alice-Passw0rd, groups: [Engineering], lastLogin: "2025-06-01T09:00:00.000Z" }
  - { login: dave@example.com, firstName: Dave, lastName: Doe, password: Dave-Passw0rd, groups: [Engineering, Sales] }
  - { login: frank@example.com, firstName: Frank, lastName: Fox, password: Frank-Passw0rd, groups: [Sales] }
  - { login: erin@example.com, firstName: Erin, lastName: Ek, password: Erin-Passw0rd }
  - { login: gina@example.com, firstName: Gina, lastName: Gray, password: Gina-Passw0rd }
oauth_clients:
  - client_id: $WEB_CLIENT
    scopes: [okta.users.read, okta.users.manage, okta.groups.read]
    dpop: false
    client_secret: "$WEB_SECRET"
    refresh_token: "$REFRESH"
  - client_id: $SVC_CLIENT
    scopes: [okta.users.read, okta.users.manage, okta.groups.read, okta.groups.manage, okta.apps.read, okta.apps.manage]
    dpop: true
    public_key_pem: |
$(sed 's/^/      /' "$INPUTS/svc.pub")
YAML

"$OKTA_SIM" --port 0 --api-token "$TOKEN" --seed "$INPUTS/seed.yaml" --log-level error > "$INPUTS/sim.out" 2> "$INPUTS/sim.err" &
SIM_PID=$!
HOLDER_PID=""
cleanup() {
  [ -z "$HOLDER_PID" ] || { exec 3>&- 2> /dev/null; kill "$HOLDER_PID" 2> /dev/null; wait "$HOLDER_PID" 2> /dev/null; } || true
  kill "$SIM_PID" 2> /dev/null || true
  wait "$SIM_PID" 2> /dev/null || true
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 1 1200); do grep -q listening "$INPUTS/sim.out" 2> /dev/null && break; sleep 0.05; done
BASE=$(sed -n 's/^listening on //p' "$INPUTS/sim.out")
[ -n "$BASE" ] || { echo "okta-sim did not start"; cat "$INPUTS/sim.err"; exit 1; }
sim() { curl -s "$@"; }

# connections ALIAS_OKTA_CONNECTION: the connections file; `okta` (what the shipped flows use)
# names the given connection, okta_svc and okta_web always the OAuth ones.
connections() {
  cat <<YAML
aliases:
  okta: { connection: $1, retry: { max_attempts: 2, initial_interval: 100ms } }
  okta_svc: { connection: svc }
  okta_web: { connection: web }
connections:
  token: { base_url: "$BASE", credential: token, allow_insecure_http: true }
  svc: { base_url: "$BASE", credential: svc, allow_insecure_http: true }
  web: { base_url: "$BASE", credential: web, allow_insecure_http: true }
credentials:
  token: { type: okta_api_token, token: { secret: okta_token } }
  svc:
    type: okta_oauth_service
    client_id: $SVC_CLIENT
    private_key: { secret: svc_key }
    scopes: [okta.users.read, okta.users.manage, okta.groups.read, okta.groups.manage, okta.apps.read, okta.apps.manage]
    dpop: on
  web:
    type: okta_oauth_refresh
    client_id: $WEB_CLIENT
    client_secret: { secret: web_secret }
    refresh_token: { secret: web_refresh }
    scopes: [okta.users.read, okta.users.manage, okta.groups.read]
YAML
}
connections token > "$PROJ/connections.yaml"
connections svc > "$PROJ/connections-svc.yaml"

# sf FORMAT NAME ARGS...: one spokeflow command at trace level, in the project's folder; its
# stdout and stderr are kept under captured/. OUT holds stdout, RC the exit code. STDIN_FILE,
# when set, is its standard input.
N=0
sf() {
  local fmt=$1 name=$2
  shift 2
  N=$((N + 1))
  LAST="$CAPT/$(printf %03d "$N")-$fmt-$name"
  set +e
  (cd "$PROJ" && exec "$SPOKEFLOW" --log-level trace --log-format "$fmt" "$@") \
    > "$LAST.stdout" 2> "$LAST.stderr" < "${STDIN_FILE:-/dev/null}"
  RC=$?
  set -e
  OUT=$(cat "$LAST.stdout")
}
# reveal ID FIELD: an output of an execution in clear (--reveal). Kept out of captured/: the test
# needs the value to search for, and --reveal is the one command meant to show it.
reveal() {
  (cd "$PROJ" && "$SPOKEFLOW" executions show "$1" --json --reveal 2> /dev/null) | jq -r ".outputs.$2 // empty"
}
REVEALED=()

echo "# the vault and the store"
printf '%s\n' "$TOKEN" > "$INPUTS/v1"; printf '%s\n' "$WEB_SECRET" > "$INPUTS/v2"; printf '%s\n' "$REFRESH" > "$INPUTS/v3"
STDIN_FILE="$INPUTS/v1" sf text secrets-set secrets set okta_token
STDIN_FILE="$INPUTS/svc.key" sf text secrets-set secrets set svc_key
STDIN_FILE="$INPUTS/v2" sf json secrets-set secrets set web_secret
STDIN_FILE="$INPUTS/v3" sf json secrets-set secrets set web_refresh
rm -f "$INPUTS/v1" "$INPUTS/v2" "$INPUTS/v3"
sf text executions-list executions list
expect_eq "the store is created" 0 "$RC"
# Hold a read transaction open from before the first record: SQLite can then checkpoint nothing
# and no closing process can remove the WAL, so every frame any command wrote stays in it.
mkfifo "$INPUTS/holder.fifo"
sqlite3 "$SPOKEFLOW_STORE" < "$INPUTS/holder.fifo" > "$INPUTS/holder.out" 2>&1 &
HOLDER_PID=$!
exec 3> "$INPUTS/holder.fifo"
printf 'BEGIN;\nSELECT count(*) FROM sqlite_master;\n' >&3
for _ in $(seq 1 200); do [ -s "$INPUTS/holder.out" ] && break; sleep 0.05; done
expect_eq "a reader holds the store's WAL" "ok" "$(grep -qE '^[0-9]+$' "$INPUTS/holder.out" && echo ok)"

for F in text json; do
  echo "# log format $F"
  sf $F secrets-list secrets list
  expect_eq "secrets list" 0 "$RC"
  sf $F secrets-list secrets list --json
  sf $F connections-list connections list
  for alias in okta okta_svc okta_web; do
    sf $F connections-test connections test "$alias"
    expect_eq "connections test $alias" 0 "$RC"
  done
  sf $F validate validate --flows-dir "$SRC_DIR/flows" "$SRC_DIR"/flows/*.yaml "$FLOWS"/canary_*.yaml
  expect_eq "validate the shipped flows and the canary's" 0 "$RC"

  run_flow() {  # run_flow NAME-FOR-FILES FLOW ARGS...: a flow run, --json
    local name=$1 flow=$2
    shift 2
    sf $F "$name" run "$flow" --flows-dir "$SRC_DIR/flows" --json "$@"
    EXEC=$(echo "$OUT" | jq -r '.execution_id // empty' 2> /dev/null || true)
    [ -z "$EXEC" ] || ROUND_IDS+=("$EXEC")
  }
  ROUND_IDS=()
  run_flow onboard_user onboard_user --input email="nina-$F@example.com" --input first_name=Nina --input last_name=New
  expect_eq "onboard_user (API token)" 0 "$RC"
  REVEALED+=("$(reveal "$EXEC" activation_url)")
  run_flow onboard_user_oauth onboard_user --connections "$PROJ/connections-svc.yaml" \
    --input email="olaf-$F@example.com" --input first_name=Olaf --input last_name=Oauth
  expect_eq "onboard_user (OAuth service app, DPoP)" 0 "$RC"
  REVEALED+=("$(reveal "$EXEC" activation_url)")
  run_flow password_reset_link password_reset --input user=erin@example.com --input method=link
  expect_eq "password_reset (link)" 0 "$RC"
  REVEALED+=("$(reveal "$EXEC" reset_password_url)")
  run_flow password_reset_temp password_reset --input user=gina@example.com --input method=temporary
  expect_eq "password_reset (temporary password)" 0 "$RC"
  REVEALED+=("$(reveal "$EXEC" temp_password)")
  run_flow add_user_to_group add_user_to_group --input login=alice@example.com --input group=Sales
  expect_eq "add_user_to_group" 0 "$RC"
  sim -X POST "$BASE/__sim/users/alice@example.com/lock" > /dev/null
  run_flow unlock_if_locked unlock_if_locked --input user=alice@example.com
  expect_eq "unlock_if_locked" 0 "$RC"
  run_flow sync_groups sync_groups
  expect_eq "sync_groups" 0 "$RC"
  run_flow bulk_deactivate bulk_deactivate_inactive_users --input last_login_before=2026-01-01T00:00:00.000Z
  expect_eq "bulk_deactivate_inactive_users (dry run)" 0 "$RC"
  [ "$F" = text ] && who=dave || who=frank
  run_flow offboard_user offboard_user --input user="$who@example.com"
  expect_eq "offboard_user" 0 "$RC"
  who_id=$(sim -H "Authorization: SSWS $TOKEN" "$BASE/api/v1/users/$who@example.com" | jq -r .id)
  run_flow remove_memberships remove_group_memberships_on_deactivation --input user_id="$who_id"
  expect_eq "remove_group_memberships_on_deactivation" 0 "$RC"

  # The sensitive input: a run stopped by SIGTERM during its wait, then resumed. (--drain-grace:
  # a run stopped during a short wait otherwise stays the whole default grace of 30 s.)
  N=$((N + 1))
  LAST="$CAPT/$(printf %03d "$N")-$F-canary_input"
  (cd "$PROJ" && exec "$SPOKEFLOW" --log-level trace --log-format $F run "$FLOWS/canary_input.yaml" --flows-dir "$SRC_DIR/flows" \
    --input login="canary-$F@example.com" --input password="$PASSWORD" --lease 1s --drain-grace 1s) > "$LAST.stdout" 2> "$LAST.stderr" < /dev/null &
  pid=$!
  for _ in $(seq 1 6000); do grep -q ' started ' "$LAST.stdout" && break; kill -0 "$pid" 2> /dev/null || break; sleep 0.01; done
  kill -TERM "$pid" 2> /dev/null || true
  set +e; wait "$pid"; RC=$?; set -e
  expect_eq "canary_input stopped by SIGTERM during its wait" 75 "$RC"
  CANARY_EXEC=$(sed -n 's/^execution \([0-9A-Z]*\) started.*/\1/p' "$LAST.stdout" | head -1)
  ROUND_IDS+=("$CANARY_EXEC")
  status=""
  for _ in $(seq 1 60); do
    sf $F resume resume --flows-dir "$SRC_DIR/flows" --lease 1s
    status=$( (cd "$PROJ" && "$SPOKEFLOW" executions show "$CANARY_EXEC" --json 2> /dev/null) | jq -r .status)
    [ "$status" = succeeded ] || [ "$status" = failed ] && break
    sleep 0.5
  done
  expect_eq "canary_input resumed to its end" succeeded "$status"

  run_flow canary_transforms "$FLOWS/canary_transforms.yaml" --input password="$PASSWORD"
  expect_eq "canary_transforms" 0 "$RC"

  sf $F executions-list executions list
  sf $F executions-list executions list --json
  # Every execution of this round (its subflow children too), shown as text and as JSON.
  for id in $( (cd "$PROJ" && "$SPOKEFLOW" executions list --limit 100000 --json 2> /dev/null) |
    jq -r --args '.[] | select(.id as $i | $ARGS.positional | index($i)) // select(.parent_id as $p | $p != null and ($ARGS.positional | index($p))) | .id' "${ROUND_IDS[@]}"); do
    sf $F executions-show executions show "$id"
    sf $F executions-show executions show "$id" --json
  done
done

# The service in both log formats: its access log, engine lines and /metrics, with the
# sensitive input sent over the API and an API token (a canary itself: made outside captured/).
echo "# serve"
SERVE_TOKEN=$( (cd "$PROJ" && "$SPOKEFLOW" tokens create canary-op --role operator 2> /dev/null) | tail -1)
mkdir "$PROJ/serve-flows"
cp "$FLOWS/canary_transforms.yaml" "$PROJ/serve-flows/"
for F in text json; do
  N=$((N + 1))
  LAST="$CAPT/$(printf %03d "$N")-$F-serve"
  (cd "$PROJ" && exec "$SPOKEFLOW" --log-level trace --log-format $F serve --listen 127.0.0.1:0 --flows-dir serve-flows) \
    > "$LAST.stdout" 2> "$LAST.stderr" < /dev/null &
  pid=$!
  for _ in $(seq 1 1200); do grep -q '^listening on ' "$LAST.stdout" && break; kill -0 "$pid" 2> /dev/null || break; sleep 0.05; done
  API=$(sed -n 's/^listening on //p' "$LAST.stdout" | head -1)
  jq -n --arg p "$PASSWORD" '{inputs: {password: $p}}' > "$INPUTS/body.json"
  curl -s -H "Authorization: Bearer $SERVE_TOKEN" -H 'Content-Type: application/json' --data-binary "@$INPUTS/body.json" \
    "$API/api/v1/flows/canary_transforms/executions?wait=30s" > "$LAST.answer.json"
  expect_eq "serve ($F): canary_transforms over the API" succeeded "$(jq -r .status "$LAST.answer.json")"
  curl -s -H "Authorization: Bearer $SERVE_TOKEN" "$API/api/v1/executions/$(jq -r .execution_id "$LAST.answer.json")" > "$LAST.execution.json"
  curl -s -H "Authorization: Bearer $SERVE_TOKEN" "$API/metrics" > "$LAST.metrics.txt"
  expect_contains "serve ($F): /metrics answers" "spokeflow_executions_finished_total" "$(cat "$LAST.metrics.txt")"
  curl -s -o /dev/null "$API/api/v1/flows/$PASSWORD"   # refused (no token): its path is no label, no log field
  kill -TERM "$pid" 2> /dev/null || true
  set +e; wait "$pid"; set -e
  expect_contains "serve ($F): an access-log line names the token" "canary-op" "$(grep 'http request' "$LAST.stderr")"
done
rm -f "$INPUTS/body.json"

for v in "${REVEALED[@]}"; do [ -n "$v" ] || fail "an activation link, reset link or temporary password was not revealed"; done
# The client assertions the OAuth credentials signed (okta-sim's request log holds the bodies).
mapfile -t ASSERTIONS < <(sim "$BASE/__sim/requests" |
  jq -r '.[] | select(.target == "/oauth2/v1/token") | .body // "" | split("&")[] | select(startswith("client_assertion=")) | ltrimstr("client_assertion=")')
[ "${#ASSERTIONS[@]}" -ge 2 ] && pass "the OAuth service app signed client assertions (${#ASSERTIONS[@]})" ||
  fail "no client assertion in okta-sim's request log"

# The WAL as the reader kept it, then the store once checkpointed by the last connection.
mkdir "$CAPT/held"
for f in "$SPOKEFLOW_STORE" "$SPOKEFLOW_STORE-wal" "$SPOKEFLOW_STORE-shm"; do [ -f "$f" ] && cp "$f" "$CAPT/held/"; done
[ -s "$CAPT/held/store.db-wal" ] && pass "the WAL was kept ($(wc -c < "$CAPT/held/store.db-wal") bytes)" || fail "no WAL to search"
printf 'COMMIT;\n.quit\n' >&3
exec 3>&-
wait "$HOLDER_PID" 2> /dev/null || true
HOLDER_PID=""
sf text executions-list executions list

# ---------------------------------------------------------------------------------------------
# The forms of each canary: NEEDLE<TAB>LABEL lines in $FORMS (one line per distinct needle).
FORMS="$INPUTS/forms.tsv"
: > "$FORMS"
declare -A SEEN=()
add_form() {  # add_form LABEL NEEDLE
  local needle=$2
  [ ${#needle} -ge 8 ] || return 0
  if [ -n "${SEEN[$needle]:-}" ]; then SEEN[$needle]+=",$1"; else SEEN[$needle]=$1; fi
}
# The part of base64(K filler bytes + FILE + anything) that FILE alone decides: characters
# ceil(8K/6) .. floor(8(K+n)/6). So an encoded copy is found wherever the secret sits in what was encoded.
b64_core() {  # b64_core FILE K
  local n k=$2 enc
  n=$(wc -c < "$1")
  enc=$({ head -c "$k" /dev/zero; cat "$1"; } | base64 -w0)
  local start=$(((8 * k + 5) / 6)) end=$((8 * (k + n) / 6))
  printf '%s' "${enc:start:end-start}"
}
binary_forms() {  # binary_forms LABEL FILE: base64, base64url at 3 alignments, hex
  local k core hex
  for k in 0 1 2; do
    core=$(b64_core "$2" "$k")
    add_form "$1/base64" "$core"
    add_form "$1/base64url" "$(printf '%s' "$core" | tr '+/' '-_')"
  done
  hex=$(od -An -v -tx1 "$2" | tr -d ' \n')
  add_form "$1/hex" "$hex"
  add_form "$1/HEX" "$(printf '%s' "$hex" | tr 'a-f' 'A-F')"
}
text_forms() {  # text_forms LABEL VALUE
  local v=$2 url json
  add_form "$1/clear" "$v"
  add_form "$1/upper-case" "${v^^}"
  add_form "$1/lower-case" "${v,,}"
  url=$(jq -rn --arg v "$v" '$v | @uri')
  add_form "$1/url-encoded" "$url"
  add_form "$1/url-encoded(lower hex)" "$(printf '%s' "$url" | sed 's/%[0-9A-F][0-9A-F]/\L&/g')"
  json=$(jq -n --arg v "$v" '$v' | sed 's/^"//; s/"$//')
  add_form "$1/json-escaped" "$json"
  add_form "$1/json-escaped(\\/)" "$(printf '%s' "$json" | sed 's|/|\\/|g')"
  printf '%s' "$v" > "$INPUTS/value"
  binary_forms "$1" "$INPUTS/value"
  rm -f "$INPUTS/value"
}
text_forms api-token "$TOKEN"
text_forms serve-api-token "$SERVE_TOKEN"
text_forms sensitive-input "$PASSWORD"
text_forms client-secret "$WEB_SECRET"
text_forms refresh-token "$REFRESH"
text_forms master-key "$SPOKEFLOW_MASTER_KEY"
text_forms private-key-pem-line-1 "$KEY_LINE1"
text_forms private-key-pem-line-2 "$KEY_LINE2"
printf '%b' "$(sed 's/../\\x&/g' "$INPUTS/svc-d.hex")" > "$INPUTS/svc-d.bin"
binary_forms private-key-scalar "$INPUTS/svc-d.bin"
i=0
for v in "${REVEALED[@]}"; do
  i=$((i + 1))
  [ -n "$v" ] || continue
  text_forms "okta-sim-secret-$i" "$v"
  # The token inside a link, alone.
  case "$v" in http*) tok=${v%/verify}; text_forms "okta-sim-secret-$i-token" "${tok##*/}" ;; esac
done
i=0
for v in "${ASSERTIONS[@]}"; do
  i=$((i + 1))
  text_forms "client-assertion-$i" "$v"
done
for needle in "${!SEEN[@]}"; do printf '%s\t%s\n' "$needle" "${SEEN[$needle]}"; done > "$FORMS"
cut -f1 "$FORMS" > "$INPUTS/needles"

# search FILE...: one line per hit, "LABEL<TAB>FILE<TAB>OFFSET"; the matched text never leaves awk.
search() {
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    LC_ALL=C grep -aobF -f "$INPUTS/needles" "$f" |
      LC_ALL=C awk -v file="${f#"$WORK"/}" 'NR == FNR { split($0, p, "\t"); label[p[1]] = p[2]; next }
        { i = index($0, ":"); print label[substr($0, i + 1)] "\t" file "\t" substr($0, 1, i - 1) }' "$FORMS" - || true
  done
}

echo "# the search can see each form (a file holding every form of one canary)"
awk -F'\t' 'index($2, "api-token/") { print "leak: " $1 }' "$FORMS" > "$INPUTS/selftest.txt"
expect_eq "every form of the API token is found" "$(grep -c . "$INPUTS/selftest.txt")" "$(search "$INPUTS/selftest.txt" | wc -l)"
(cd "$PROJ" && "$SPOKEFLOW" executions show "$CANARY_EXEC" --json --reveal 2> /dev/null) > "$INPUTS/revealed.json"
found=$(search "$INPUTS/revealed.json" | grep -cE $'^sensitive-input/clear[,\t]' || true)
[ "$found" -ge 1 ] && pass "...and --reveal's output (not searched) is found to hold the sensitive input" ||
  fail "the sensitive input is not found in --reveal's output"
echo "  ($(wc -l < "$FORMS") needles: $(cut -f2 "$FORMS" | tr ',' '\n' | cut -d/ -f1 | sort -u | wc -l) canaries in up to 14 forms each)"

echo "# everything the project wrote"
mapfile -t SEARCHED < <(find "$CAPT" "$PROJ" -type f | sort)
echo "  searching ${#SEARCHED[@]} files ($(cat "${SEARCHED[@]}" | wc -c) bytes)"
search "${SEARCHED[@]}" > "$INPUTS/hits.tsv"
HITS=$(wc -l < "$INPUTS/hits.tsv")
if [ "$HITS" -eq 0 ]; then
  pass "no canary in any form in any file"
else
  fail "$HITS hits (secret, form, file, byte offset; first 60):"
  head -60 "$INPUTS/hits.tsv" | sed 's/^/      /'
  echo "  by secret and form:"
  cut -f1 "$INPUTS/hits.tsv" | sort | uniq -c | sort -rn | sed 's/^/     /'
  echo "  by file:"
  cut -f2 "$INPUTS/hits.tsv" | sort | uniq -c | sort -rn | head -40 | sed 's/^/     /'
fi

finish
