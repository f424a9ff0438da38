#!/usr/bin/env bash
# `spokeflow schedules list`: each flow's schedule triggers with their next fires (UTC and
# local, across a daylight-saving change), both trigger forms, JSON output, bad input; and
# schedule triggers checked at load by `validate` and shown by `flows list`.
source "$(dirname "$0")/lib.sh"
SF="$SPOKEFLOW"
cd "$WORK"
mkdir -p flows bad
cat > flows/nightly.yaml <<'YAML'
name: nightly
inputs:
  dry_run: { type: boolean, default: false }
triggers:
  - schedule: "30 2 * * *"
    timezone: America/New_York
    inputs: { dry_run: true }
steps:
  - action: core.noop
YAML
cat > flows/sync.yaml <<'YAML'
name: sync
triggers:
  - schedule:
      cron: "*/15 * * * *"
      catchup: all
      overlap: queue
steps:
  - action: core.noop
YAML
cat > flows/events.yaml <<'YAML'
name: events
triggers:
  - okta_event: [user.lifecycle.deactivate, user.lifecycle.suspend]
  - schedule: { cron: "@daily", timezone: Europe/Berlin, catchup: none }
steps:
  - action: core.noop
YAML
cat > bad/bad_cron.yaml <<'YAML'
name: bad_cron
triggers:
  - schedule: "99 99 * * *"
  - schedule: { cron: "0 6 * * *", timezone: Europe/Berln }
steps:
  - action: core.noop
YAML
cp flows/sync.yaml bad/

echo "schedules list --json"
# 2026-03-08 is New York's spring-forward day: 02:30 does not exist and fires at 03:00 EDT.
run_stdout "$SF" schedules list --flows-dir flows --from 2026-03-07T12:00:00Z --count 3 --json
expect_eq "exit 0" 0 "$RC"
expect_eq "from echoed" "2026-03-07T12:00:00.000Z" "$(echo "$OUT" | jq -r .from)"
expect_eq "one row per schedule trigger, flows by file name" "events/1 nightly/0 sync/0" \
  "$(echo "$OUT" | jq -r '[.schedules[] | "\(.flow)/\(.trigger)"] | join(" ")')"
n='.schedules[] | select(.flow == "nightly")'
expect_eq "short form read with its timezone" "30 2 * * * America/New_York last skip" \
  "$(echo "$OUT" | jq -r "$n | \"\(.cron) \(.timezone) \(.catchup) \(.overlap)\"")"
expect_eq "nightly: the gap's end, then 02:30 EDT" \
  "2026-03-08T07:00:00.000Z 2026-03-09T06:30:00.000Z 2026-03-10T06:30:00.000Z" \
  "$(echo "$OUT" | jq -r "[$n | .next[].at] | join(\" \")")"
expect_eq "nightly local times" "2026-03-08T03:00:00-04:00 EDT|2026-03-09T02:30:00-04:00 EDT|2026-03-10T02:30:00-04:00 EDT" \
  "$(echo "$OUT" | jq -r "[$n | .next[] | \"\(.local) \(.abbrev)\"] | join(\"|\")")"
s='.schedules[] | select(.flow == "sync")'
expect_eq "long form: catchup and overlap" "all queue UTC" \
  "$(echo "$OUT" | jq -r "$s | \"\(.catchup) \(.overlap) \(.timezone)\"")"
expect_eq "sync every 15 minutes" "2026-03-07T12:15:00.000Z 2026-03-07T12:30:00.000Z 2026-03-07T12:45:00.000Z" \
  "$(echo "$OUT" | jq -r "[$s | .next[].at] | join(\" \")")"
e='.schedules[] | select(.flow == "events")'
expect_eq "@daily in Berlin: midnight CET" "2026-03-07T23:00:00.000Z 2026-03-08T00:00:00+01:00 CET @daily none" \
  "$(echo "$OUT" | jq -r "$e | \"\(.next[0].at) \(.next[0].local) \(.next[0].abbrev) \(.cron) \(.catchup)\"")"
expect_eq "no invalid flows" 0 "$(echo "$OUT" | jq '.invalid | length')"

echo "schedules list (text)"
run_stdout "$SF" schedules list --flows-dir flows --from 2026-03-07T12:00:00Z --count 2
expect_eq "text exit 0" 0 "$RC"
expect_contains "trigger header" 'nightly triggers[0]: "30 2 * * *" America/New_York, catchup last, overlap skip' "$OUT"
expect_contains "fire line: UTC then local" "  2026-03-08T07:00:00.000Z  2026-03-08T03:00:00-04:00 EDT" "$OUT"
expect_eq "two fires per trigger" 6 "$(echo "$OUT" | grep -c '^  20')"

echo "default: from now"
run_stdout "$SF" schedules list --flows-dir flows --json --count 1
expect_eq "exit 0" 0 "$RC"
now=$(date -u +%Y-%m-%dT%H:%M:%S)
first=$(echo "$OUT" | jq -r '.schedules[] | select(.flow == "sync") | .next[0].at')
if [[ "$first" > "$now" ]]; then pass "next fire is after now ($first > $now)"; else fail "next fire $first is not after $now"; fi

echo "shipped flows"
run_stdout "$SF" schedules list --flows-dir "$SRC_DIR/flows" --from 2026-12-07T09:07:00Z --count 1 --json
expect_eq "shipped flows: exit 0" 0 "$RC"
expect_eq "sync_groups every 15 minutes" "2026-12-07T09:15:00.000Z" \
  "$(echo "$OUT" | jq -r '.schedules[] | select(.flow == "sync_groups") | .next[0].at')"

echo "bad input"
run_stdout "$SF" schedules list --flows-dir bad --from 2026-03-07T12:00:00Z --json
expect_eq "a flow that does not load: exit 2" 2 "$RC"
expect_eq "the others are still listed" "sync" "$(echo "$OUT" | jq -r '[.schedules[].flow] | join(" ")')"
expect_contains "its errors are given" "minute 99 is out of range 0-59" "$(echo "$OUT" | jq -c '.invalid[0].errors')"
run_stdout "$SF" schedules list --flows-dir bad --from 2026-03-07T12:00:00Z
expect_eq "text: exit 2" 2 "$RC"
expect_contains "text names the file" "bad_cron.yaml: does not load (2 errors; see \`spokeflow validate" "$OUT"
run_capture "$SF" validate bad/bad_cron.yaml
expect_eq "validate refuses a bad cron" 2 "$RC"
expect_contains "cron error at the cron string" "bad_cron.yaml:3:15: error: bad schedule '99 99 * * *': minute 99 is out of range 0-59" "$OUT"
expect_contains "zone error at the zone" "bad_cron.yaml:4:46: error: unknown time zone 'Europe/Berln'" "$OUT"
expect_contains "zone: did you mean" "did you mean 'Europe/Berlin'?" "$OUT"
run_capture "$SF" schedules list --flows-dir flows --from yesterday
expect_eq "bad --from: exit 2" 2 "$RC"
expect_contains "bad --from said" "--from 'yesterday' is not a point in time" "$OUT"
run_capture "$SF" schedules list --flows-dir flows --count 0
expect_eq "--count 0 refused" 2 "$RC"
run_capture "$SF" schedules list --flows-dir "$WORK/none"
expect_eq "missing flows dir: exit 2" 2 "$RC"
expect_contains "missing flows dir said" "does not exist" "$OUT"

echo "flows list shows both forms"
run_capture "$SF" flows list --flows-dir flows
expect_eq "flows list exit 0" 0 "$RC"
expect_contains "long form's cron" "schedule */15 * * * *" "$OUT"
expect_contains "a list of event types" "okta_event user.lifecycle.deactivate user.lifecycle.suspend, schedule @daily" "$OUT"

finish
