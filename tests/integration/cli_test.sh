#!/usr/bin/env bash
# The CLI end to end: validate, run (by name and by file), exit codes, JSON output, the
# store's records, sensitive values, and bad input that must write nothing.
source "$(dirname "$0")/lib.sh"
SF="$SPOKEFLOW_TEST"
cd "$WORK"

echo "validate"
run_capture "$SF" validate "$SRC_DIR"/flows/*.yaml --flows-dir "$SRC_DIR/flows"
expect_eq "shipped flows validate" 0 "$RC"
run_capture "$SF" validate "$FLOWS/bad_many.yaml" --flows-dir "$FLOWS"
expect_eq "bad flow exits 2" 2 "$RC"
expect_contains "unknown key with position" "bad_many.yaml:4:5: error:" "$OUT"
expect_contains "duplicate id reported" "bad_many.yaml:5:" "$OUT"
expect_contains "unknown action reported" "core.nope" "$OUT"
expect_contains "broken expression reported" "bad_many.yaml:9:" "$OUT"
expect_contains "bad duration reported" "5 minutes" "$OUT"
# A credential written into core.http's headers is refused before anything runs (it was
# refused only when the step ran), in any letter case.
cat > "$WORK/literal_auth.yaml" <<'YAML'
name: literal_auth
steps:
  - id: call
    action: core.http
    connection: api
    with:
      path: /api/v1/users/me
      headers:
        X-Trace: "1"
        authorization: "SSWS not-a-real-token"
YAML
run_capture "$SF" validate "$WORK/literal_auth.yaml"
expect_eq "a literal Authorization header in core.http exits 2" 2 "$RC"
expect_contains "...naming the step's with: field" "literal_auth.yaml:" "$OUT"
expect_contains "...saying which headers are refused" "Authorization, Proxy-Authorization" "$OUT"
expect_not_contains "...never the value" "not-a-real-token" "$OUT"
# A mistyped output field of an action whose outputs are a closed set (it was null at run time,
# and failed on the next step's input check).
cat > "$WORK/output_typo.yaml" <<'YAML'
name: output_typo
inputs:
  login: { type: string }
steps:
  - id: who
    action: okta.get_user
    with:
      user_id: ${{ inputs.login }}
  - id: stop
    action: okta.suspend_user
    with:
      user_id: ${{ steps.who.outputs.userid }}
YAML
run_capture "$SF" validate "$WORK/output_typo.yaml"
expect_eq "an output the action does not have exits 2" 2 "$RC"
expect_contains "...at the expression, with a suggestion" "output_typo.yaml:12:20: error: step 'who' (okta.get_user) has no output 'userid'" "$OUT"
expect_contains "...did you mean" "did you mean 'user_id'" "$OUT"
run_capture "$SF" validate "$FLOWS/bad_utf8.yaml"
expect_eq "non-UTF-8 exits 2" 2 "$RC"
expect_contains "non-UTF-8 position" "bad_utf8.yaml:5:" "$OUT"
run_capture "$SF" validate "$FLOWS/bad_yaml.yaml"
expect_eq "malformed YAML exits 2" 2 "$RC"
expect_contains "malformed YAML position" "bad_yaml.yaml:" "$OUT"
run_capture "$SF" validate "$FLOWS/cycle_a.yaml" --flows-dir "$FLOWS"
expect_eq "subflow cycle exits 2" 2 "$RC"
expect_contains "subflow cycle named at the flow step that closes it" "cycle_b.yaml:3:5: error: subflow cycle: cycle_a -> cycle_b -> cycle_a" "$OUT"
{ echo "name: huge"; echo "steps:"; for i in $(seq 1 20); do echo "  - action: core.noop"; done; head -c 52428800 /dev/zero | tr '\0' '#'; } > "$WORK/huge.yaml"
run_capture "$SF" validate "$WORK/huge.yaml"
expect_eq "50 MB flow file exits 2" 2 "$RC"
expect_contains "50 MB flow file message" "too large" "$OUT"
run_capture "$SF" validate --json "$FLOWS/bad_many.yaml" --flows-dir "$FLOWS"
expect_eq "validate --json is JSON" "false" "$(echo "$OUT" | jq -r '.[0].ok')"

echo "run"
run_capture "$SF" run features --flows-dir "$FLOWS" --json --input password=not-for-logs-123
expect_eq "features succeeds" 0 "$RC"
expect_eq "status" succeeded "$(echo "$OUT" | jq -r .status)"
expect_eq "for_each + set + until total" 6 "$(echo "$OUT" | jq -r .outputs.total)"
expect_eq "collect in input order" '["a-0","b-1","c-2"]' "$(echo "$OUT" | jq -c .outputs.collected)"
expect_eq "catch sees error" '{"code":"X42","kind":"action","step":"guarded.boom"}' "$(echo "$OUT" | jq -c .outputs.caught)"
expect_eq "else branch" else "$(echo "$OUT" | jq -r .outputs.branch)"
expect_eq "step in the branch not taken reads as skipped" skipped "$(echo "$OUT" | jq -r .outputs.never)"
expect_eq "if false skips" skipped "$(echo "$OUT" | jq -r .outputs.skipped)"
expect_eq "continue_on_error" failed "$(echo "$OUT" | jq -r .outputs.tolerated)"
expect_eq "parallel branch" succeeded "$(echo "$OUT" | jq -r .outputs.right)"
expect_eq "until iterations" 3 "$(echo "$OUT" | jq -r .outputs.iterations)"
expect_eq "interpolation" "total=6 first=a" "$(echo "$OUT" | jq -r .outputs.text)"
id=$(echo "$OUT" | jq -r .execution_id)
show=$("$SF" executions show "$id" --json)
expect_eq "every iteration recorded" 3 "$(echo "$show" | jq '[.steps[] | select(.path | test("^loop\\[[0-9]\\]\\.echo$"))] | length')"
expect_eq "finally ran" succeeded "$(echo "$show" | jq -r '.steps[] | select(.path == "guarded.finally.cleanup") | .status')"
expect_eq "sensitive input redacted in store" '[REDACTED]' "$(echo "$show" | jq -r .inputs.password)"
expect_not_contains "secret never in show" "not-for-logs-123" "$show"
run_capture "$SF" executions show "$id"
expect_contains "text show has tree" "loop[2].echo" "$OUT"
expect_eq "the trigger records who ran it (issue 21)" "$(printf '%s' "{\"type\":\"cli\",\"user\":\"$(id -un)\",\"host\":\"$(hostname)\"}" | jq -cS .)" \
  "$(echo "$show" | jq -cS .trigger)"
expect_contains "...and executions show prints it" "\"user\":\"$(id -un)\"" "$OUT"

run_capture "$SF" run "$FLOWS/fails.yaml" --json
expect_eq "failing flow exits 1" 1 "$RC"
expect_eq "error names the step" "broken" "$(echo "$OUT" | jq -r .error.step)"
expect_eq "error code kept" "B1" "$(echo "$OUT" | jq -r .error.code)"
fid=$(echo "$OUT" | jq -r .execution_id)
expect_eq "step after failure not run" "" "$("$SF" executions show "$fid" --json | jq -r '.steps[] | select(.path == "after") | .path')"

run_capture "$SF" run retry_timeout --flows-dir "$FLOWS" --json
expect_eq "timeout fails the flow" 1 "$RC"
expect_eq "timeout kind" timeout "$(echo "$OUT" | jq -r .error.kind)"
rid=$(echo "$OUT" | jq -r .execution_id)
expect_eq "three attempts recorded" "1 2 3" "$("$SF" executions show "$rid" --json | jq -r '[.steps[] | select(.path == "slow") | .attempt] | map(tostring) | join(" ")')"

run_capture "$SF" run ender --flows-dir "$FLOWS" --json
expect_eq "end succeeded" 0 "$RC"
run_capture "$SF" run ender --flows-dir "$FLOWS" --input fail=true --json
expect_eq "end failed" 1 "$RC"
expect_eq "end message" "stopped on purpose" "$(echo "$OUT" | jq -r .error.message)"

echo "secrets"
run_stdout "$SF" run secrets --flows-dir "$FLOWS" --input password=hunter2-very-secret --input file="$WORK/effects.txt" --json
expect_eq "secrets flow succeeds" 0 "$RC"
expect_eq "sensitive output usable by later steps" 23 "$(echo "$OUT" | jq -r '.outputs.token_length' 2>/dev/null || echo none)"
sid=$(echo "$OUT" | jq -r .execution_id)
all=$("$SF" executions show "$sid" --json)
expect_not_contains "secret input not in records" "hunter2" "$all"
expect_not_contains "secret not in CLI output" "hunter2" "$OUT$ERR"
expect_eq "sensitive action output redacted" '[REDACTED]' "$(echo "$all" | jq -r '.steps[] | select(.path == "use") | .outputs.token')"
expect_eq "secret copied into a plain field is scrubbed" '[REDACTED]' "$(echo "$all" | jq -r '.steps[] | select(.path == "leak_attempt") | .outputs.copied')"
expect_eq "secret in flow outputs is scrubbed" '[REDACTED]' "$(echo "$OUT" | jq -r .outputs.leaked)"
run_capture "$SF" run secrets --flows-dir "$FLOWS" --input password=hunter2-very-secret --input file="$WORK/effects.txt" --log-level debug --log-format json
expect_not_contains "secret not in logs (json)" "hunter2" "$OUT"
expect_contains "log line kept, secret scrubbed" 'password is [REDACTED]' "$OUT"
run_capture "$SF" run secrets --flows-dir "$FLOWS" --input password=hunter2-very-secret --input file="$WORK/effects.txt" --log-level debug
expect_not_contains "secret not in logs (text)" "hunter2" "$OUT"
if grep -q hunter2 "$SPOKEFLOW_STORE"* 2>/dev/null; then fail "secret found in the store file"; else pass "secret not in the store file"; fi

echo "secrets through transforms (issue 16)"
# upper(), lower() and toJSON() of a secret holding '"' and '\': no form of it may be written.
SECRET='Mixed"Case\Secret-77'
: > "$WORK/transforms.txt"
run_stdout "$SF" run secret_transforms --flows-dir "$FLOWS" --input "password=$SECRET" --json
printf '%s\n%s\n' "$OUT" "$ERR" >> "$WORK/transforms.txt"
expect_eq "secret_transforms succeeds" 0 "$RC"
expect_eq "upper() of a secret is redacted in the outputs" '[REDACTED]' "$(echo "$OUT" | jq -r .outputs.up)"
expect_eq "toJSON() of a secret is redacted in the outputs (its quotes are JSON's)" '"[REDACTED]"' "$(echo "$OUT" | jq -r .outputs.json)"
expect_eq "text around a secret is kept" 'upper [REDACTED], json "[REDACTED]"' "$(echo "$OUT" | jq -r .outputs.in_text)"
expect_eq "a boolean computed from a secret stays visible" true "$(echo "$OUT" | jq -r .outputs.starts)"
expect_eq "a number computed from a secret stays visible" 20 "$(echo "$OUT" | jq -r .outputs.size)"
tid=$(echo "$OUT" | jq -r .execution_id)
"$SF" executions show "$tid" --json >> "$WORK/transforms.txt" 2>&1
"$SF" executions show "$tid" >> "$WORK/transforms.txt" 2>&1
expect_eq "the failed step's error is recorded" failed "$("$SF" executions show "$tid" --json | jq -r '.steps[] | select(.path == "boom") | .status')"
for format in text json; do
  run_capture "$SF" run secret_transforms --flows-dir "$FLOWS" --input "password=$SECRET" --log-level debug --log-format $format
  printf '%s\n' "$OUT" >> "$WORK/transforms.txt"
  expect_contains "the log line is kept ($format)" 'upper [REDACTED] lower [REDACTED] json' "$OUT"
done
expect_no_secret "no form of the secret in outputs, logs, errors or executions show" "$SECRET" "$WORK/transforms.txt"
expect_no_secret "no form of the secret in the store or its WAL" "$SECRET" "$SPOKEFLOW_STORE" "$SPOKEFLOW_STORE-wal"

echo "bad input writes nothing"
before=$(execution_count)
run_capture "$SF" run features --flows-dir "$FLOWS" --input n=notanumber
expect_eq "bad input type exits 2" 2 "$RC"
expect_contains "bad input message" "input 'n' must be an integer" "$OUT"
run_capture "$SF" run features --flows-dir "$FLOWS" --input bogus=1
expect_eq "unknown input exits 2" 2 "$RC"
run_capture "$SF" run "$FLOWS/bad_many.yaml"
expect_eq "invalid flow exits 2" 2 "$RC"
run_capture "$SF" run no_such_flow --flows-dir "$FLOWS"
expect_eq "unknown flow exits 2" 2 "$RC"
head -c 52428800 /dev/zero | tr '\0' 'a' > "$WORK/big.json"
run_capture "$SF" run features --flows-dir "$FLOWS" --inputs-file "$WORK/big.json"
expect_eq "50 MB inputs file exits 2" 2 "$RC"
expect_contains "50 MB inputs file message" "too large" "$OUT"
printf '{"n": 1' > "$WORK/broken.json"
run_capture "$SF" run features --flows-dir "$FLOWS" --inputs-file "$WORK/broken.json"
expect_eq "broken JSON inputs exits 2" 2 "$RC"
expect_eq "nothing written to the store" "$before" "$(execution_count)"

echo "listing and actions"
expect_eq "list --status failed" 3 "$("$SF" executions list --status failed --json | jq length)"
run_capture "$SF" actions list
expect_contains "actions list" "core.noop" "$OUT"
run_capture "$SF" actions show core.wait --json
expect_eq "actions show" '["duration"]' "$(echo "$OUT" | jq -c .inputs.required)"
run_capture "$SF" --help
expect_eq "--help exits 0" 0 "$RC"
for c in validate run resume "executions list" "executions show" "actions list" "actions show"; do
  run_capture "$SF" $c --help
  expect_eq "$c --help" 0 "$RC"
done

echo "messages (issue 21)"
run_capture "$SF" executions frob
expect_eq "an unknown subcommand exits 2" 2 "$RC"
expect_contains "...naming it" "unknown command 'executions frob'" "$OUT"
expect_contains "...listing the valid ones" "list, show, cancel, retry, rerun, purge" "$OUT"
expect_not_contains "...not 'a subcommand is required'" "A subcommand is required" "$OUT"
run_capture "$SF" frob
expect_eq "an unknown command exits 2" 2 "$RC"
expect_contains "...naming it and listing the valid ones" "unknown command 'frob'; the commands of spokeflow are: validate, run," "$OUT"
run_capture "$SF" executions
expect_eq "a group without its command exits 2" 2 "$RC"
expect_contains "...listing the valid ones" "spokeflow executions needs a command: list, show," "$OUT"
run_capture "$SF" --log-level info secrets frob
expect_contains "global options before the command are skipped" "unknown command 'secrets frob'" "$OUT"
run_capture "$SF" executions list --bogus
expect_contains "an unknown option is still CLI11's message" "--bogus" "$OUT"
# A master key file readable by others: one clear error, no warning before it.
MK="$WORK/mode644.key"
( export SPOKEFLOW_MASTER_KEY_FILE="$MK" SPOKEFLOW_VAULT="$WORK/v644.json"; unset SPOKEFLOW_MASTER_KEY
  "$SF" secrets init > /dev/null && echo "tok-644" | "$SF" secrets set t644 > /dev/null && chmod 644 "$MK"
  cat > "$WORK/c644.yaml" <<YAML
aliases:
  web: { connection: w }
connections:
  w: { base_url: "http://127.0.0.1:9", credential: tok, allow_insecure_http: true }
credentials:
  tok: { type: bearer, token: { secret: t644 } }
YAML
  printf 'name: web\nsteps:\n  - id: get\n    action: core.http\n    connection: web\n    with: { method: GET, path: / }\n' > "$WORK/web.yaml"
  rc=0; "$SF" --connections "$WORK/c644.yaml" run "$WORK/web.yaml" > "$WORK/644.out" 2>&1 || rc=$?; echo "$rc" > "$WORK/644.rc" )
OUT=$(cat "$WORK/644.out")
expect_eq "a 0644 key file: run exits 3" 3 "$(cat "$WORK/644.rc")"
expect_contains "...saying the mode" "has mode 0644, readable by others" "$OUT"
expect_eq "...once, as one error (no warning first)" 1 "$(grep -c "mode 0644" "$WORK/644.out")"
expect_not_contains "...not 'no master key'" "no master key" "$OUT"
run_capture "$SF" --connections "$WORK/no-such-connections.yaml" run "$WORK/web.yaml"
expect_contains "a missing connections file is named in the step's error" "web.yaml:3:5: error: step 'get' uses alias 'web': cannot read connections file $WORK/no-such-connections.yaml" "$OUT"
expect_not_contains "...without a '(see below)' for text printed elsewhere" "see below" "$OUT"
printf 'aliases: 5\n' > "$WORK/bad-connections.yaml"
run_capture "$SF" --connections "$WORK/bad-connections.yaml" run "$WORK/web.yaml"
expect_contains "a broken connections file: the step's error says where its errors are" "has 1 error, listed under its own name" "$OUT"
expect_contains "...and they are listed" "bad-connections.yaml:1:" "$OUT"
expect_not_contains "...without 'see below'" "see below" "$OUT"

echo "did you mean, enum values, unclosed quotes (issue 21)"
cat > "$WORK/typos.yaml" <<'YAML'
name: typos
inputs:
  user_login: { type: string }
  kind: { type: string, default: bogus }
vars:
  count: 1
steps:
  - id: who
    action: okta.deactivate
    connection: okta
    with: { user_id: "${{ inputs.user }}" }
  - id: two
    action: core.echo
    with: { a: "${{ steps.wh.status }}", b: "${{ vars.cont }}" }
YAML
run_capture "$SPOKEFLOW" validate "$WORK/typos.yaml"
expect_eq "a flow with typos exits 2" 2 "$RC"
expect_contains "an action name cut short" "unknown action 'okta.deactivate'; did you mean 'okta.deactivate_user'?" "$OUT"
expect_contains "an input name cut short" "unknown input 'user' (inputs: user_login, kind); did you mean 'user_login'?" "$OUT"
expect_contains "a step id cut short" "unknown step 'wh'; did you mean 'who'?" "$OUT"
expect_contains "a variable name mistyped" "unknown variable 'cont' (neither in vars: nor assigned by a set: step); did you mean 'count'?" "$OUT"
printf 'name: e\ninputs:\n  kind: { type: string, default: bogus }\nsteps:\n  - id: boom\n    action: core.fail\n    with: { message: m, kind: "${{ inputs.kind }}" }\n' > "$WORK/enum.yaml"
run_capture "$SF" run "$WORK/enum.yaml" --json
expect_eq "an enum value that does not fit fails the step" 1 "$RC"
expect_contains "...and the error shows the value given" "/kind is \"bogus\" (from \${{ inputs.kind }} at line 7): Failed to match against any enum values. (got 'bogus')" "$(echo "$OUT" | jq -r .error.message)"
printf 'name: q\nsteps:\n  - id: a\n    action: core.log\n    with: { message: "hello }\n  - id: b\n    action: core.noop\n' > "$WORK/quote_flow.yaml"
run_capture "$SF" validate "$WORK/quote_flow.yaml"
expect_eq "an unclosed quote in a flow mapping exits 2" 2 "$RC"
expect_contains "...reported where it opens (line 5), not at the end" "quote_flow.yaml:5:22: error: invalid YAML: this double-quoted string is never closed" "$OUT"
printf "name: q\nsteps:\n  - id: a\n    action: core.log\n    with:\n      message: 'hello\n  - id: b\n    action: core.noop\n" > "$WORK/quote_block.yaml"
run_capture "$SF" validate "$WORK/quote_block.yaml"
expect_eq "an unclosed quote in block context exits 2 (yaml-cpp took the rest of the file as the string)" 2 "$RC"
expect_contains "...reported where it opens" "quote_block.yaml:6:16: error: invalid YAML: this single-quoted string is never closed" "$OUT"
printf 'name: ok\ndescription: |\n  it is "fine\n  to quote\nsteps:\n  - id: a   # a "comment\n    action: core.log\n    with: { message: "it'"'"'s a \\"x\\" and\n      more" }\n' > "$WORK/quotes_ok.yaml"
run_capture "$SF" validate "$WORK/quotes_ok.yaml"
expect_eq "quotes in block scalars, comments and multi-line strings are fine" 0 "$RC"
[ "$RC" -eq 0 ] || echo "$OUT"
finish
