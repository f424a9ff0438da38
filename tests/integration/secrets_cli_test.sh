#!/usr/bin/env bash
# The secrets vault through the real CLI: parallel `secrets set` keep every value, a killed
# writer's temporary file is cleaned up, `secrets rm` refuses a wrong key, and a corrupt vault
# or a wrong key is reported as such by validate, run and connections test.
source "$(dirname "$0")/lib.sh"
SF="$SPOKEFLOW"

KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
OTHER_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
RAND=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SPOKEFLOW_MASTER_KEY="$KEY"
export SPOKEFLOW_VAULT="$WORK/vault/vault.json"
export SPOKEFLOW_MASTER_KEY_FILE="$WORK/no-such-key-file"
VAULT="$SPOKEFLOW_VAULT"
N=5

echo "# $N parallel secrets set keep all $N"
# Each writer is started first and blocks reading its value from a FIFO, so that all of them
# reach the vault at about the same moment once the values are written.
for i in $(seq 1 $N); do mkfifo "$WORK/value$i"; done
PIDS=()
for i in $(seq 1 $N); do
  ( set +e; "$SF" secrets set "name$i" < <(cat "$WORK/value$i") > "$WORK/set$i.out" 2>&1; echo $? > "$WORK/set$i.rc" ) &
  PIDS+=($!)
done
sleep 0.5  # let them start (the result does not depend on it: without the lock this is the race)
for i in $(seq 1 $N); do printf 'secret-value-%s-%s\n' "$i" "$RAND" > "$WORK/value$i"; done
for p in "${PIDS[@]}"; do wait "$p"; done
for i in $(seq 1 $N); do
  expect_eq "secrets set name$i exits 0" 0 "$(cat "$WORK/set$i.rc")"
  expect_contains "secrets set name$i says stored" "stored secret 'name$i'" "$(cat "$WORK/set$i.out")"
done
run_stdout "$SF" secrets list --json
expect_eq "secrets list exits 0" 0 "$RC"
expect_eq "secrets list has all $N" "name1 name2 name3 name4 name5" "$(echo "$OUT" | jq -r 'join(" ")')"
expect_eq "the vault is private" 600 "$(stat -c %a "$VAULT")"
expect_eq "no temporary file is left" "" "$(cd "$WORK/vault" && ls -A | grep -F '.tmp-' || true)"

echo "# a temporary file left by a killed secrets set is removed by the next write"
# What a writer killed between writing its temporary file and renaming it leaves behind.
cp "$VAULT" "$WORK/vault/.vault.json.tmp-K1ll3d"
run_stdout "$SF" secrets set name6 <<< "secret-value-6"
expect_eq "secrets set after a killed one exits 0" 0 "$RC"
expect_eq "the stale temporary file is gone" "" "$(cd "$WORK/vault" && ls -A | grep -F '.tmp-' || true)"
expect_eq "six secrets" 6 "$("$SF" secrets list --json | jq length)"

echo "# secrets rm with a wrong master key removes nothing"
cp "$VAULT" "$WORK/vault-before-rm.json"
run_stdout env SPOKEFLOW_MASTER_KEY="$OTHER_KEY" "$SF" secrets rm name1
expect_eq "secrets rm with a wrong key exits 3" 3 "$RC"
expect_contains "the error says the key does not open the vault" "does not open the vault $VAULT" "$ERR"
expect_contains "the error says nothing was removed" "nothing was removed" "$ERR"
expect_not_contains "no 'removed' on stdout" "removed secret" "$OUT"
expect_eq "the vault is unchanged" "" "$(cmp "$VAULT" "$WORK/vault-before-rm.json" 2>&1 || echo changed)"
expect_eq "name1 is still listed" "name1" "$("$SF" secrets list --json | jq -r '.[0]')"
run_stdout env SPOKEFLOW_MASTER_KEY="$OTHER_KEY" "$SF" secrets set name7 <<< "x-value"
expect_eq "secrets set with a wrong key exits 3" 3 "$RC"
expect_contains "set says the key does not open the vault" "does not open the vault $VAULT" "$ERR"
run_stdout "$SF" secrets rm name6
expect_eq "secrets rm with the right key exits 0" 0 "$RC"
expect_eq "five secrets again" 5 "$("$SF" secrets list --json | jq length)"

echo "# a corrupt vault and a wrong key are reported as such"
"$SF" secrets set okta_token <<< "secret-value-token-$RAND" > /dev/null
cat > "$WORK/connections.yaml" <<YAML
aliases:
  okta: { connection: org }
connections:
  org: { base_url: "http://127.0.0.1:9", credential: tok, allow_insecure_http: true }
credentials:
  tok: { type: okta_api_token, token: { secret: okta_token } }
YAML
export SPOKEFLOW_CONNECTIONS="$WORK/connections.yaml"
FLOW="$SRC_DIR/flows/onboard_user.yaml"
cp "$VAULT" "$WORK/vault-good.json"
# Checks validate, run and connections test all say `what` (and never "no master key").
vault_reported() {
  local label=$1 what=$2
  run_stdout "$SF" validate --flows-dir "$SRC_DIR/flows" "$FLOW"
  expect_eq "validate with $label exits 3 (the environment)" 3 "$RC"
  expect_contains "validate with $label says so" "$what" "$ERR"
  expect_not_contains "validate with $label does not blame a missing master key" "no master key" "$ERR"
  run_stdout "$SF" run onboard_user --flows-dir "$SRC_DIR/flows" --input email=a@example.com --input first_name=A --input last_name=B
  expect_eq "run with $label exits 3 (the environment)" 3 "$RC"
  expect_contains "run with $label says so" "$what" "$ERR"
  expect_not_contains "run with $label does not blame a missing master key" "no master key" "$ERR"
  run_stdout "$SF" connections test okta
  expect_eq "connections test with $label exits 3 (the environment)" 3 "$RC"
  expect_contains "connections test with $label says so" "$what" "$OUT$ERR"
  expect_not_contains "connections test with $label does not blame a missing master key" "no master key" "$OUT$ERR"
}
head -c "$(( $(stat -c %s "$VAULT") / 2 ))" "$WORK/vault-good.json" > "$VAULT"
vault_reported "a truncated vault" "the vault $VAULT is corrupt"
printf '\x00\x13garbage\xff' > "$VAULT"
vault_reported "a garbled vault" "the vault $VAULT is corrupt"
cp "$WORK/vault-good.json" "$VAULT"
SPOKEFLOW_MASTER_KEY="$OTHER_KEY"  # exported already: the commands below see it
vault_reported "a wrong key" "the master key (from SPOKEFLOW_MASTER_KEY) does not open the vault $VAULT"
SPOKEFLOW_MASTER_KEY="$KEY"
if [ "$(id -u)" -ne 0 ]; then  # root reads anything
  chmod 000 "$VAULT"
  vault_reported "an unreadable vault" "cannot read the vault $VAULT"
  chmod 600 "$VAULT"
fi
# The right key and an intact vault: validate passes the credential check again.
run_stdout "$SF" validate --flows-dir "$SRC_DIR/flows" "$FLOW"
expect_eq "validate with the vault restored exits 0" 0 "$RC"
[ "$RC" -eq 0 ] || echo "$ERR"

echo "# no secret value reached any output"
for f in "$WORK"/set*.out; do
  if grep -qF "secret-value-" "$f"; then fail "a secret value in $(basename "$f")"; fi
done
if grep -aqF "secret-value-" "$VAULT"; then fail "a secret value in clear in the vault"; else pass "the vault holds no clear value"; fi
finish
