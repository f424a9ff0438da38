#!/usr/bin/env bash
# Real flows over HTTPS: okta-sim serves TLS with a certificate from a CA made here (openssl,
# in the test's temporary folder; no key is ever committed), the connections trust that CA
# through ca_bundle, and the shipped flows run through the CLI with an API token and with an
# OAuth service app (private-key JWT, DPoP). Then `connections test` against certificates it
# must refuse: another CA, an expired one, one for another name, and a CA bundle that is missing.
source "$(dirname "$0")/lib.sh"
: "${OKTA_SIM:?path to the okta-sim binary}"
command -v openssl > /dev/null || { echo "the openssl command is needed (Debian package openssl)"; exit 1; }

CERTS="$WORK/certs"
mkdir -m 700 "$CERTS"
# ca NAME: a CA key and self-signed certificate, CERTS/NAME.key and CERTS/NAME.pem
ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CERTS/$1.key" -out "$CERTS/$1.pem" \
    -days 2 -subj "/CN=spokeflow $1" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2> /dev/null
}
# leaf NAME CA SAN DAYS: a server certificate (chain: leaf then CA) and key, CERTS/NAME.pem and CERTS/NAME.key
leaf() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$CERTS/$1.key" -out "$CERTS/$1.csr" \
    -subj "/CN=$1" 2> /dev/null
  printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' "$3" > "$CERTS/$1.ext"
  openssl x509 -req -in "$CERTS/$1.csr" -CA "$CERTS/$2.pem" -CAkey "$CERTS/$2.key" -CAcreateserial \
    -out "$CERTS/$1.leaf" -days "$4" -extfile "$CERTS/$1.ext" 2> /dev/null
  cat "$CERTS/$1.leaf" "$CERTS/$2.pem" > "$CERTS/$1.pem"
}
ca ca
ca other-ca
leaf good ca "DNS:localhost,IP:127.0.0.1" 1
leaf expired ca "DNS:localhost,IP:127.0.0.1" -1   # notAfter a day before notBefore (now)
leaf wrong-name ca "DNS:other.example" 1
for f in ca other-ca good expired wrong-name; do [ -s "$CERTS/$f.pem" ] || { echo "openssl made no $f.pem"; exit 1; }; done

TOKEN="sim-token-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export SPOKEFLOW_MASTER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SPOKEFLOW_VAULT="$WORK/vault.json"
export SPOKEFLOW_MASTER_KEY_FILE="$WORK/no-such-key-file"

# The OAuth service app's key pair: the private key goes to the vault, the public one to the sim.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$CERTS/svc.key" 2> /dev/null
openssl pkey -in "$CERTS/svc.key" -pubout -out "$CERTS/svc.pub" 2> /dev/null
{
  cat <<'YAML'
admin: { login: admin@example.com, firstName: Ada, lastName: Admin }
groups:
  - { name: Engineering }
  - { name: Sales }
users:
  - { login: alice@example.com, firstName: Alice, lastName: Smith, password: Alice-Passw0rd, groups: [Engineering] }
oauth_clients:
  - client_id: 0oatlsservice000001
    scopes: [okta.users.read, okta.users.manage, okta.groups.read, okta.groups.manage]
    dpop: true
    public_key_pem: |
YAML
  sed 's/^/      /' "$CERTS/svc.pub"
} > "$WORK/seed.yaml"

SIM_PIDS=()
# start_tls_sim CERT: starts okta-sim over TLS with CERTS/CERT.pem; sets PORT
start_tls_sim() {
  local out="$WORK/sim-$1.out"
  "$OKTA_SIM" --port 0 --api-token "$TOKEN" --seed "$WORK/seed.yaml" --log-level error \
    --tls-cert "$CERTS/$1.pem" --tls-key "$CERTS/$1.key" > "$out" 2> "$WORK/sim-$1.err" &
  SIM_PIDS+=($!)
  for _ in $(seq 1 1200); do grep -q listening "$out" 2> /dev/null && break; sleep 0.05; done
  PORT=$(sed -n 's|^listening on https://127.0.0.1:||p' "$out")
  [ -n "$PORT" ] || { echo "okta-sim did not start with $1.pem"; cat "$WORK/sim-$1.err"; exit 1; }
}
trap 'for p in "${SIM_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"' EXIT

start_tls_sim good
BASE="https://localhost:$PORT"
okta() { curl -s --cacert "$CERTS/ca.pem" -H "Authorization: SSWS $TOKEN" -H "Accept: application/json" "$@"; }
user_status() { okta "$BASE/api/v1/users/$1" | jq -r .status; }
user_group_names() { okta "$BASE/api/v1/users/$1/groups" | jq -r '[.[].profile.name] | sort | join(",")'; }

printf '%s\n' "$TOKEN" | "$SPOKEFLOW" secrets set sim_token > /dev/null
"$SPOKEFLOW" secrets set svc_key < "$CERTS/svc.key" > /dev/null

# connections FILE ALIAS_CREDENTIAL CA_BUNDLE [BASE]: alias `okta` over HTTPS; the CA bundle is
# written relative to the connections file's folder.
connections() {
  cat > "$1" <<YAML
aliases:
  okta: { connection: sim, retry: { max_attempts: 1 } }
connections:
  sim: { base_url: "${4:-$BASE}", credential: $2, ca_bundle: $3 }
credentials:
  token: { type: okta_api_token, token: { secret: sim_token } }
  service:
    type: okta_oauth_service
    client_id: 0oatlsservice000001
    private_key: { secret: svc_key }
    scopes: [okta.users.read, okta.users.manage, okta.groups.read, okta.groups.manage]
    dpop: on
YAML
}
OUTPUTS="$WORK/outputs.txt"
: > "$OUTPUTS"
keep() { printf '%s\n%s\n' "$OUT" "$ERR" >> "$OUTPUTS"; }

echo "# an API token over HTTPS"
connections "$WORK/token.yaml" token certs/ca.pem
export SPOKEFLOW_CONNECTIONS="$WORK/token.yaml"
run_stdout "$SPOKEFLOW" connections test okta
keep
expect_eq "connections test exits 0" 0 "$RC"
expect_contains "...and names the token's user" "admin@example.com" "$OUT"
run_stdout "$SPOKEFLOW" --log-level debug run onboard_user --flows-dir "$SRC_DIR/flows" --input email=nina@example.com \
  --input first_name=Nina --input last_name=New --input department=Engineering --json
keep
expect_eq "onboard_user over HTTPS exits 0" 0 "$RC"
[ "$RC" -eq 0 ] || echo "$OUT $ERR" | tail -20
NINA=$(echo "$OUT" | jq -r .outputs.user_id)
expect_eq "nina is PROVISIONED" "PROVISIONED" "$(user_status "$NINA")"
expect_eq "nina is in Engineering" "Engineering,Everyone" "$(user_group_names "$NINA")"
expect_contains "the activation link is an https link of the org (seen with --reveal)" "$BASE/tokens/" \
  "$("$SPOKEFLOW" executions show "$(echo "$OUT" | jq -r .execution_id)" --json --reveal 2> /dev/null | jq -r .outputs.activation_url)"

echo "# an OAuth service app (private-key JWT, DPoP) over HTTPS"
connections "$WORK/service.yaml" service certs/ca.pem
export SPOKEFLOW_CONNECTIONS="$WORK/service.yaml"
curl -s --cacert "$CERTS/ca.pem" -X DELETE "$BASE/__sim/requests" > /dev/null
run_stdout "$SPOKEFLOW" connections test okta
keep
expect_eq "connections test exits 0" 0 "$RC"
expect_contains "...and names the scopes granted" "okta.users.read" "$OUT"
run_stdout "$SPOKEFLOW" run add_user_to_group --flows-dir "$SRC_DIR/flows" --input login=alice@example.com --input group=Sales --json
keep
expect_eq "add_user_to_group over HTTPS with OAuth exits 0" 0 "$RC"
[ "$RC" -eq 0 ] || echo "$OUT $ERR" | tail -20
expect_eq "alice is in Sales" "Engineering,Everyone,Sales" "$(user_group_names alice@example.com)"
LOGGED=$(curl -s --cacert "$CERTS/ca.pem" "$BASE/__sim/requests")
expect_eq "each process asked for a DPoP nonce, then got its token" "400,200,400,200" \
  "$(echo "$LOGGED" | jq -r '[.[] | select(.target == "/oauth2/v1/token") | .status] | join(",")')"
expect_eq "no API call was refused" "0" "$(echo "$LOGGED" | jq '[.[] | select((.target | startswith("/api/")) and .status >= 400)] | length')"

echo "# certificates that must be refused"
connections "$WORK/other-ca.yaml" token certs/other-ca.pem
run_stdout "$SPOKEFLOW" --connections "$WORK/other-ca.yaml" connections test okta
keep
expect_eq "another CA: connections test fails (the environment: exit 3)" 3 "$RC"
expect_contains "...saying the issuer is not trusted" "not issued by a CA this connection trusts" "$OUT$ERR"
expect_contains "...and which bundle was trusted" "$WORK/certs/other-ca.pem" "$OUT$ERR"
run_stdout "$SPOKEFLOW" --connections "$WORK/other-ca.yaml" run onboard_user --flows-dir "$SRC_DIR/flows" \
  --input email=omar@example.com --input first_name=Omar --input last_name=Other --json
keep
expect_eq "another CA: a flow fails on the environment (exit 3)" 3 "$RC"
expect_eq "...with a network error" "network" "$(echo "$OUT" | jq -r .error.kind)"
expect_eq "...coded tls_untrusted_issuer" "tls_untrusted_issuer" "$(echo "$OUT" | jq -r .error.code)"
expect_eq "...and no user was created" "E0000007" "$(okta "$BASE/api/v1/users/omar@example.com" | jq -r .errorCode)"

start_tls_sim expired
connections "$WORK/expired.yaml" token certs/ca.pem "https://localhost:$PORT"
run_stdout "$SPOKEFLOW" --connections "$WORK/expired.yaml" connections test okta
keep
expect_eq "an expired certificate: connections test fails (the environment: exit 3)" 3 "$RC"
expect_contains "...saying it has expired" "the server's certificate has expired" "$OUT$ERR"

start_tls_sim wrong-name
connections "$WORK/wrong-name.yaml" token certs/ca.pem "https://localhost:$PORT"
run_stdout "$SPOKEFLOW" --connections "$WORK/wrong-name.yaml" connections test okta
keep
expect_eq "a certificate for other.example: connections test fails (the environment: exit 3)" 3 "$RC"
expect_contains "...saying it is not for localhost" "the server's certificate is not for host 'localhost'" "$OUT$ERR"

connections "$WORK/missing-ca.yaml" token certs/no-such-ca.pem
run_stdout "$SPOKEFLOW" --connections "$WORK/missing-ca.yaml" connections test okta
keep
expect_eq "a missing CA bundle: connections test fails (the environment: exit 3)" 3 "$RC"
expect_contains "...naming the file and why" "cannot use the CA bundle '$WORK/certs/no-such-ca.pem': No such file or directory" "$OUT$ERR"

echo "# no secret in anything printed"
KEY_LINE=$(sed -n 2p "$CERTS/svc.key")
for needle in "$TOKEN" "$KEY_LINE" "$SPOKEFLOW_MASTER_KEY"; do
  if grep -aqF "$needle" "$OUTPUTS"; then fail "a secret appears in the output"; else pass "no secret in the output"; fi
done

finish
