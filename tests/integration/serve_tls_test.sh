#!/usr/bin/env bash
# `spokeflow serve` over HTTPS (issue 18): a CA and a server certificate for 127.0.0.1 made
# here with openssl (in the test's temporary folder; no key is committed). Certificates and keys
# that cannot serve stop it before it listens; curl trusting the CA gets answers, curl without
# it is refused; plain HTTP to the port gets a clear 400 and the server keeps serving; a client
# that never handshakes is dropped; event streams end cleanly; okta-sim, told the CA, verifies
# and delivers an event hook over HTTPS; SIGTERM exits 0.
source "$(dirname "$0")/lib.sh"
: "${OKTA_SIM:?path to the okta-sim binary}"
command -v openssl > /dev/null || { echo "the openssl command is needed (Debian package openssl)"; exit 1; }
SF="$SPOKEFLOW_TEST"
cd "$WORK"
SFLOWS="$TEST_DIR/integration/serve_flows"

CERTS="$WORK/certs"
mkdir -m 700 "$CERTS"
ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CERTS/$1.key" -out "$CERTS/$1.pem" \
    -days 2 -subj "/CN=spokeflow $1" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2> /dev/null
}
# leaf NAME CA SAN: a server certificate (chain: leaf then CA) and key, CERTS/NAME.pem and CERTS/NAME.key
leaf() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CERTS/$1.key" -out "$CERTS/$1.csr" \
    -subj "/CN=$1" 2> /dev/null
  printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' "$3" > "$CERTS/$1.ext"
  openssl x509 -req -in "$CERTS/$1.csr" -CA "$CERTS/$2.pem" -CAkey "$CERTS/$2.key" -CAcreateserial \
    -out "$CERTS/$1.leaf" -days 1 -extfile "$CERTS/$1.ext" 2> /dev/null
  cat "$CERTS/$1.leaf" "$CERTS/$2.pem" > "$CERTS/$1.pem"
}
ca ca
leaf server ca "DNS:localhost,IP:127.0.0.1"
leaf other ca "DNS:localhost,IP:127.0.0.1"
for f in ca server other; do [ -s "$CERTS/$f.pem" ] || { echo "openssl made no $f.pem"; exit 1; }; done

TOKEN=sim-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
HOOK_SECRET="hook-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export HOOK_AUTH="$HOOK_SECRET"
export SPOKEFLOW_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SPOKEFLOW_VAULT="$WORK/vault.json"

# okta-sim itself on plain HTTP (the API the flows call), trusting the CA for hooks at https URLs.
start_sim --hook-ca "$CERTS/ca.pem"
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
OPERATOR=$("$SF" tokens create op-1 --role operator | tail -1)

echo "# certificates and keys that cannot serve: exit 2 before listening"
# refused WHAT NEEDLE ARGS...: serve exits 2 saying NEEDLE, and never says it listens
refused() {
  local what=$1 needle=$2
  shift 2
  set +e
  timeout 60 "$SF" serve --listen 127.0.0.1:0 --flows-dir "$SFLOWS" "$@" > refused.out 2> refused.err
  local rc=$?
  set -e
  expect_eq "$what: exit 2" 2 "$rc"
  expect_contains "$what: says why" "$needle" "$(cat refused.err)"
  expect_eq "$what: never listened" "" "$(cat refused.out)"
}
refused "a missing certificate" "cannot read the TLS certificate '$CERTS/none.pem'" \
  --tls-cert "$CERTS/none.pem" --tls-key "$CERTS/server.key"
printf 'not a certificate\n' > "$CERTS/junk.pem"
refused "a file that is no certificate" "is not a PEM certificate chain" --tls-cert "$CERTS/junk.pem" --tls-key "$CERTS/server.key"
refused "a file that is no key" "is not a PEM private key" --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/junk.pem"
refused "another certificate's key" "is not the private key of the certificate" \
  --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/other.key"
cp "$CERTS/server.key" "$CERTS/locked.key"
chmod 000 "$CERTS/locked.key"
if ! cat "$CERTS/locked.key" > /dev/null 2>&1; then  # (root reads it anyway)
  refused "an unreadable key" "cannot read the TLS key" --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/locked.key"
fi
run_capture "$SF" serve --listen 127.0.0.1:0 --tls-cert "$CERTS/server.pem"
expect_eq "--tls-cert without --tls-key: exit 2" 2 "$RC"
printf 'listen: 127.0.0.1:0\ntls:\n  cert: certs/server.pem\n' > no-key.yaml
run_capture "$SF" serve --config no-key.yaml
expect_contains "tls without a key in serve.yaml: where" "no-key.yaml:3:3: error: tls needs 'key'" "$OUT"
printf 'listen: 127.0.0.1:0\ntls: { cert: certs/server.pem, key: certs/nope.key }\n' > bad-key.yaml
run_capture "$SF" serve --config bad-key.yaml
expect_contains "a key file that is not there: where" "bad-key.yaml:2:37: error: tls.key: no such file" "$OUT"

echo "# serving HTTPS"
# Paths in serve.yaml are relative to its folder.
cat > serve.yaml <<YAML
listen: 127.0.0.1:0
flows_dir: $SFLOWS
tls: { cert: certs/server.pem, key: certs/server.key }
limits: { handshake_timeout: 1s, read_timeout: 5s }
hooks:
  okta: { authorization: { env: HOOK_AUTH } }
YAML
"$SF" serve --config serve.yaml --log-level info > serve.out 2> serve.err &
SERVE_PID=$!
wait_for 60 grep -q '^listening on ' serve.out || { echo "serve did not start"; cat serve.err; exit 1; }
API=$(sed -n 's/^listening on //p' serve.out | head -1)
PORT=${API##*:}
expect_contains "the first line says https" "listening on https://127.0.0.1:" "$(head -1 serve.out)"
expect_not_contains "no warning about plain HTTP" "plain HTTP" "$(cat serve.err)"

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
expect_eq "curl trusting the CA: 200" 200 "$(code --cacert "$CERTS/ca.pem" "$API/healthz")"
set +e; curl -s -o /dev/null "$API/healthz"; rc=$?; set -e
expect_eq "curl without the CA: refused in verification (60)" 60 "$rc"
CODE=$(curl -s -o plain.json -w '%{http_code}' "http://127.0.0.1:$PORT/healthz" || true)
expect_eq "plain HTTP to the HTTPS port: a clear 400" "400 this port speaks HTTPS: use https://" "$CODE $(jq -r .error.message plain.json)"
expect_eq "...and the server keeps serving" 200 "$(code --cacert "$CERTS/ca.pem" "$API/healthz")"
expect_eq "TLS 1.2 is served" 200 "$(code --cacert "$CERTS/ca.pem" --tlsv1.2 --tls-max 1.2 "$API/healthz")"
set +e
openssl s_client -connect "127.0.0.1:$PORT" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' < /dev/null > s_client.out 2>&1
rc=$?
set -e
expect_eq "TLS 1.1 is refused" 1 "$rc"
set +e; curl -s -o /dev/null --cacert "$CERTS/ca.pem" --resolve "wrong.example:$PORT:127.0.0.1" "https://wrong.example:$PORT/healthz"; rc=$?; set -e
expect_eq "a failed handshake (name mismatch on the client) ..." 60 "$rc"
expect_eq "...closes only its own connection" 200 "$(code --cacert "$CERTS/ca.pem" "$API/healthz")"

# A client that connects and sends nothing is dropped after the handshake timeout (1s here).
exec 3<> "/dev/tcp/127.0.0.1/$PORT"
set +e; timeout 60 cat <&3 > /dev/null; rc=$?; set -e
exec 3<&-
expect_eq "a silent client is dropped (not held until the test's 60 s bound)" 0 "$rc"
# Many silent clients at once do not stop others.
for i in $(seq 1 20); do exec {fd}<> "/dev/tcp/127.0.0.1/$PORT"; SILENT+=("$fd"); done
expect_eq "...others are served meanwhile" 200 "$(code --cacert "$CERTS/ca.pem" "$API/healthz")"
for fd in "${SILENT[@]}"; do exec {fd}<&-; done

echo "# the API and an event stream over HTTPS"
CODE=$(curl -s -o body.json -w '%{http_code}' --cacert "$CERTS/ca.pem" -H "Authorization: Bearer $OPERATOR" \
  -H 'Content-Type: application/json' --data-binary '{"inputs":{"who":"tls","pause":"1s"}}' "$API/api/v1/flows/hello/executions")
expect_eq "a trigger: 202" 202 "$CODE"
EID=$(jq -r .execution_id body.json)
set +e
timeout 30 curl -s -N --cacert "$CERTS/ca.pem" -H "Authorization: Bearer $OPERATOR" "$API/api/v1/executions/$EID/events" > events.txt
rc=$?
set -e
expect_eq "the event stream ends cleanly (curl exit 0: TLS closed with close_notify)" 0 "$rc"
expect_eq "each step, then the end" "pause:succeeded greet:succeeded end" \
  "$(sed -n 's/^data: //p' events.txt | jq -r 'if .path then select(.status != "running") | "\(.path):\(.status)" else "end" end' | tr '\n' ' ' | sed 's/ $//')"

echo "# the web view over HTTPS: its session cookie is Secure"
CODE=$(curl -s -o session.json -D session.hdrs -w '%{http_code}' --cacert "$CERTS/ca.pem" -H 'Content-Type: application/json' \
  --data-binary "{\"token\": \"$OPERATOR\"}" "$API/ui/session")
expect_eq "signed in over HTTPS" "200 operator" "$CODE $(jq -r .role session.json)"
expect_contains "...the cookie is Secure: a browser never sends it over plain HTTP" \
  "HttpOnly; SameSite=Strict; Secure" "$(grep -i '^set-cookie: spokeflow_session=' session.hdrs)"

echo "# an Okta event hook over HTTPS, from okta-sim trusting the CA"
HOOK_URL="$API/hooks/okta/okta"
run_capture "$SF" run hook_setup --flows-dir "$SFLOWS" --input url="$HOOK_URL" --input auth="$HOOK_SECRET" --json
expect_eq "okta-sim verifies the hook over HTTPS" "0 VERIFIED" "$RC $(echo "$OUT" | jq -r .outputs.verification)"
curl -s -H "Authorization: SSWS $TOKEN" -H "Accept: application/json" -H "Content-Type: application/json" \
  -X POST "$BASE/api/v1/users?activate=false" \
  -d '{"profile":{"firstName":"Tls","lastName":"Hook","email":"tls.hook@example.com","login":"tls.hook@example.com"}}' > user.json
UID_=$(jq -r .id user.json)
user_run_done() {
  "$SF" executions list --flow on_user_created --json | jq -e --arg u "$UID_" '[.[] | select(.status == "succeeded" and .outputs.id == $u)] | length == 1' > /dev/null
}
set +e; wait_for 60 user_run_done; rc=$?; set -e
expect_eq "the delivery reached serve over HTTPS and the flow ran for the new user" 0 "$rc"

# The same against an okta-sim not told the CA: it cannot trust serve, so verification fails.
"$OKTA_SIM" --port 0 --api-token "$TOKEN" --log-level error > sim2.out 2> sim2.err &
SIM2_PID=$!
wait_for 60 grep -q listening sim2.out || { echo "the second okta-sim did not start"; cat sim2.err; exit 1; }
sed "s|$BASE|$(sed -n 's/^listening on //p' sim2.out)|" connections.yaml > connections2.yaml
run_capture env SPOKEFLOW_CONNECTIONS="$WORK/connections2.yaml" "$SF" run hook_setup --flows-dir "$SFLOWS" \
  --input url="$HOOK_URL" --input auth="$HOOK_SECRET" --json
kill "$SIM2_PID" 2>/dev/null || true
wait "$SIM2_PID" 2>/dev/null || true
expect_eq "an okta-sim that does not trust the CA cannot verify the hook (the flow fails)" "1 false" \
  "$RC $(echo "$OUT" | jq -r '.outputs.verification == "VERIFIED"' 2>/dev/null || echo false)"

expect_no_secret "no hook secret or token in the service's output" "$HOOK_SECRET" serve.out serve.err
expect_no_secret "...nor the API token" "$OPERATOR" serve.out serve.err
expect_no_secret "...nor the TLS key (in its output or in the refusals)" "$(sed -n 2p "$CERTS/server.key")" serve.out serve.err refused.out refused.err

echo "# SIGTERM over HTTPS: exits 0"
kill -TERM "$SERVE_PID"
set +e; wait "$SERVE_PID"; rc=$?; set -e
SERVE_PID=
expect_eq "exit 0" 0 "$rc"

finish
