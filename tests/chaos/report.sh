# The soak's report (sourced by soak.sh once the workers are stopped): what the store says about
# every execution queued, what okta-sim's System Log says about the side effects, and the
# workers' ends. Sets the exit status.
PROBLEMS=()
problem() { PROBLEMS+=("$*"); }

"$SF" executions list --limit 100000 --json > list.json
jq '[.[] | select(.parent_id == null)]' list.json > top.json
ENQUEUED=$(wc -l < enqueued.txt)
ENQUEUE_ERRORS=$(wc -l < enqueue_errors.txt)
LOST=$(comm -23 <(cut -d' ' -f1 enqueued.txt | sort) <(jq -r '.[].id' top.json | sort) | wc -l)
# Executions nobody queued (an enqueue that reported an error yet left a record, say).
EXTRA=$(comm -13 <(cut -d' ' -f1 enqueued.txt | sort) <(jq -r '.[].id' top.json | sort) | wc -l)
count_status() { jq --arg s "$1" '[.[] | select(.status == $s)] | length' top.json; }
SUCCEEDED=$(count_status succeeded)
FAILED=$(count_status failed)
CANCELLED=$(count_status cancelled)
STUCK=$(jq '[.[] | select(.status == "queued" or .status == "running" or .status == "waiting")] | length' top.json)
INTERNAL=$(jq '[.[] | select(.status == "failed" and .error.kind == "internal")] | length' top.json)
# What the faults explain: 5xx (server), resets (network), timeouts, 429s (rate_limited) and cut
# bodies that outlast the retries. A cut body is kind `http`: "malformed JSON" for a 2xx, or an
# error answer whose Okta error could not be read (no code, the text cut short). Anything else
# (an Okta error such as a 404 or a state conflict, validation, ...) means a flow did not converge.
jq '[.[] | select(.status == "failed")
     | select((.error.kind | IN("server", "network", "timeout", "rate_limited", "internal"))
              or (.error.kind == "http" and ((.error.message | test("malformed JSON"))
                  or ((.error.code // "") == "" and (.error.message | test("[{]\"errorCode\""))))) | not)]' top.json > unexplained.json
UNEXPLAINED=$(jq length unexplained.json)
# A failed execution must say why: an error with a kind.
NO_KIND=$(jq '[.[] | select(.status == "failed" and ((.error.kind // "") == ""))] | length' top.json)

sqlite3 -cmd '.timeout 30000' -json "$SPOKEFLOW_STORE" \
  "SELECT s.execution_id AS id, s.path, s.attempt, s.status, e.status AS execution_status
     FROM step_runs s JOIN executions e ON e.id = s.execution_id" > steps.json
[ -s steps.json ] || echo '[]' > steps.json
INTERRUPTED=$(jq '[.[] | select(.status == "interrupted")] | length' steps.json)
# An ended execution holds no attempt still marked running.
DANGLING=$(jq '[.[] | select(.status == "running" and (.execution_status | IN("succeeded", "failed", "cancelled")))] | length' steps.json)

# The ledger: okta-sim's System Log (it keeps the last 50,000 events).
admin "$BASE/__sim/events" > events.json
EVENTS=$(jq length events.json)
jq -R 'split(" ") | {id: .[0], flow: .[1], subject: .[2]}' enqueued.txt | jq -s . > enqueued.json
jq -n --argjson client "$CLIENT_ATTEMPTS" --slurpfile ev events.json --slurpfile top top.json --slurpfile steps steps.json \
  --slurpfile enq enqueued.json '
  ($ev[0] | map(select(.target[0].type == "User") | {type: .eventType, login: .target[0].alternateId, uid: .target[0].id})) as $ue
  | ($ue | map(select(.type == "user.lifecycle.create")) | group_by(.login)) as $creates
  | ($creates | map({key: .[0].login, value: .[0].uid}) | from_entries) as $uid_of
  | ($steps[0] | group_by(.id) | map({key: .[0].id, value: .}) | from_entries) as $steps_of
  | ($top[0] | map({key: .id, value: .}) | from_entries) as $exec
  | ($ue | map(select(.type | IN("user.account.reset_password", "user.password.expire", "user.lifecycle.reactivate")))
       | group_by(.login) | map({key: .[0].login, value: group_by(.type) | map({key: .[0].type, value: length}) | from_entries})
       | from_entries) as $effects
  # Effects that a repeat makes again (a reset, a temporary password, a reactivation) happen at
  # most once per attempt of the step that makes them (only an attempt cut short by a kill or a
  # lost lease is followed by another that calls again), times the attempts of the client when the
  # action marks the request safe to repeat: a reset without the email and a temporary password
  # (docs/CONNECTING-TO-OKTA.md: a fresh link or password replaces one nobody has seen), which
  # the client sends again after an answer cut short although the first one landed.
  | [ $enq[0][] | select(.flow == "password_reset" or .flow == "onboard_user") | . as $q
      | ($effects[$q.subject] // {}) as $fx
      | ($exec[$q.id].inputs.method // "") as $method
      | (if $q.flow == "password_reset" then ["recovery", "temporary"] else ["activate"] end) as $paths
      | (if $q.flow == "password_reset" then (($fx["user.account.reset_password"] // 0) + ($fx["user.password.expire"] // 0))
         else ($fx["user.lifecycle.reactivate"] // 0) end) as $n
      | ([($steps_of[$q.id] // [])[] | select(.status != "skipped" and (.path | IN($paths[])))] | length) as $attempts
      | {q: $q, n: $n, attempts: $attempts, per: (if $q.flow == "password_reset" and $method != "email" then $client else 1 end)} ] as $fxs
  | ($fxs | map(select(.n > .attempts * .per) | "\(.q.id) \(.q.flow) \(.q.subject): \(.n) effects in \(.attempts) attempts")) as $repeats
  | { created_twice: [$creates[] | select(length > 1) | "\(.[0].login): created \(length) times"],
      repeated: $repeats,
      client_repeats: ($fxs | map(select(.n > .attempts and .n <= .attempts * .per)) | length),
      # A succeeded onboard_user names the user okta-sim created for its login.
      wrong_user: [ $enq[0][] | select(.flow == "onboard_user") | . as $q | $exec[$q.id] // empty
                    | select(.status == "succeeded" and .outputs.user_id != $uid_of[$q.subject])
                    | "\($q.id): outputs.user_id \(.outputs.user_id), okta-sim created \($uid_of[$q.subject])" ],
      users_created: ($creates | length) }' > ledger.json
DUPLICATES=$(jq '(.created_twice | length) + (.repeated | length)' ledger.json)

# The org as it is now (faults are off): every succeeded execution's work must be there.
fetch_all() {  # URL OUT: every page of an Okta list, as one JSON array
  local url=$1 page=0
  while [ -n "$url" ]; do
    page=$((page + 1))
    curl -s --max-time 60 -D "$2.h" -H "Authorization: SSWS $TOKEN" -H 'Accept: application/json' "$url" > "$2.$page"
    url=$(tr -d '\r' < "$2.h" | sed -n 's/^[Ll]ink: <\(.*\)>; rel="next"$/\1/p')
  done
  jq -s 'add' $(seq -f "$2.%g" 1 "$page") > "$2"
}
fetch_all "$BASE/api/v1/users?limit=200" users_live.json
fetch_all "$BASE/api/v1/users?limit=200&search=$(jq -rn '"status eq \"DEPROVISIONED\"" | @uri')" users_gone.json
fetch_all "$BASE/api/v1/groups?limit=200" groups.json
for g in Engineering Sales Contractors; do
  fetch_all "$BASE/api/v1/groups/$(jq -r --arg g "$g" '.[] | select(.profile.name == $g) | .id' groups.json)/users?limit=1000" "members_$g.json"
done
for a in "${APP_IDS[@]}"; do fetch_all "$BASE/api/v1/apps/$a/users?limit=500" "appusers_$a.json"; done
jq -s --arg a0 "${APP_IDS[0]}" --arg a1 "${APP_IDS[1]}" '{users: ((.[0] + .[1]) | map({key: (.profile.login | ascii_downcase), value: {id, status}}) | from_entries),
        members: {Engineering: (.[2] | map(.id)), Sales: (.[3] | map(.id)), Contractors: (.[4] | map(.id))},
        apps: {($a0): (.[5] | map(.id)), ($a1): (.[6] | map(.id))}}' \
  users_live.json users_gone.json members_Engineering.json members_Sales.json members_Contractors.json \
  "appusers_${APP_IDS[0]}.json" "appusers_${APP_IDS[1]}.json" > org.json
jq -n --slurpfile org org.json --slurpfile top top.json '
  $org[0] as $o
  | [ $top[0][] | select(.status == "succeeded") | . as $e | .inputs as $in
      | (($in.email // $in.user // $in.login // "") | ascii_downcase) as $login | $o.users[$login] as $u
      | ( if .flow == "onboard_user" then
            [ if $u.status != "PROVISIONED" then "status \($u.status)" else empty end,
              (if ($in.department | IN("Engineering", "Sales")) and ($o.members[$in.department] | index($u.id) | not)
               then "not in \($in.department)" else empty end),
              (($in.app_ids // [])[] | select($o.apps[.] | index($u.id) | not) | "not assigned to app \(.)") ]
          elif .flow == "offboard_user" then
            if $in.delete then (if $u == null then [] else ["still there (\($u.status))"] end)
            else [ (if $u.status != (if $in.mode == "suspend" then "SUSPENDED" else "DEPROVISIONED" end) then "status \($u.status)" else empty end),
                   ("Engineering", "Contractors" | select($o.members[.] | index($u.id)) | "still in \(.)"),
                   ($o.apps | to_entries[] | select(.value | index($u.id)) | "still assigned to app \(.key)") ] end
          elif .flow == "password_reset" then
            (if $u.status != (if $in.method == "temporary" then "PASSWORD_EXPIRED" else "RECOVERY" end) then ["status \($u.status)"] else [] end)
          elif .flow == "unlock_if_locked" then (if $u.status != "ACTIVE" then ["status \($u.status)"] else [] end)
          elif .flow == "add_user_to_group" then (if $o.members.Sales | index($u.id) then [] else ["not in Sales"] end)
          else [] end ) as $wrong
      | select($wrong | length > 0) | "\($e.id) \($e.flow) \($login): " + ($wrong | join(", ")) ]' > not_done.json
NOT_DONE=$(jq length not_done.json)
WRONG_USER=$(jq '.wrong_user | length' ledger.json)

SANITIZER_REPORTS=$(cat worker.*.err | grep -cE 'ERROR: (Address|Leak)Sanitizer|runtime error:' || true)
RSS_LIMIT=$((RSS_START * RSS_FACTOR_PCT / 100 + RSS_SLACK_MB * 1024))

# Each request counted in the phase whose switch came last before it (both files are in time
# order; ISO times in one format compare as text).
move_request_log
printf '%s\t%s\tend\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$(date +%s%3N)" >> timeline.tsv
awk -F'\t' '
  BEGIN { n = 0; i = 0; m = 0 }
  NR == FNR { start[n] = $1; ms[n] = $2; name[n] = $3; n++; next }
  { while (i + 1 < n && ($1 "") >= (start[i + 1] "")) i++
    req[i]++; if ($2 >= 500) e5[i]++; if ($2 == 429) e4[i]++ }
  END {
    for (k = 0; k + 1 < n; k++) {
      p = name[k]; if (!(p in runs)) order[m++] = p
      runs[p]++; secs[p] += (ms[k + 1] - ms[k]) / 1000; r[p] += req[k]; f5[p] += e5[k]; f4[p] += e4[k]
    }
    print "phase\truns\tseconds\trequests\t5xx\t429"
    for (j = 0; j < m; j++) { p = order[j]; printf "%s\t%d\t%.0f\t%d\t%d\t%d\n", p, runs[p], secs[p], r[p], f5[p], f4[p] }
  }' timeline.tsv requests.tsv > phases.tsv

echo
echo "=== soak report (${DURATION}s, seed $SEED, ASan: $ASAN) ==="
echo "fault phases (okta-sim's request log; resets and truncated bodies are not in it):"
awk -F'\t' '{printf "  %-10s %6s %8s %9s %7s %7s\n", $1, $2, $3, $4, $5, $6}' phases.tsv
echo "executions queued:        $ENQUEUED   (enqueue errors: $ENQUEUE_ERRORS)"
jq -r 'group_by(.flow) | map("  \(.[0].flow): \(length) (\(map(select(.status == "succeeded")) | length) succeeded)") | .[]' top.json
echo "succeeded:                $SUCCEEDED"
echo "failed:                   $FAILED"
jq -r '[.[] | select(.status == "failed")] | group_by(.error.kind) | map("  kind \(.[0].error.kind // "none"): \(length)  ("
        + (group_by(.flow) | map("\(.[0].flow) \(length)") | join(", ")) + ")") | .[]' top.json
echo "cancelled:                $CANCELLED"
echo "stuck (unfinished after ${DRAIN_SECONDS}s of the ${DRAIN_BOUND}s bound): $STUCK"
echo "lost (queued, not in the store): $LOST; in the store but not queued by the soak: $EXTRA"
echo "attempts cut short (interrupted): $INTERRUPTED; ended executions with an attempt left running: $DANGLING"
echo "worker kills (SIGKILL):   $KILLS; workers that ended by themselves: $UNEXPECTED_EXITS"
echo "ledger: $EVENTS System Log events, $(jq .users_created ledger.json) users created; duplicate side effects: $DUPLICATES; wrong user in outputs: $WRONG_USER"
jq -r '(.created_twice + .repeated + .wrong_user)[:10][] | "  " + .' ledger.json
echo "  (executions whose reset link or temporary password the client sent again after a cut answer, as designed: $(jq .client_repeats ledger.json))"
echo "succeeded executions whose work is not in the org: $NOT_DONE"
jq -r '.[:10][] | "  " + .' not_done.json
echo "RSS of the long-running worker: start $RSS_START kB (at ${RSS_START_AT}s), end $RSS_END kB, max $RSS_MAX kB;" \
  "bound end <= start x ${RSS_FACTOR_PCT}% + ${RSS_SLACK_MB} MB = $RSS_LIMIT kB"
echo "  samples (s, kB, executions ended): $(tail -n +2 rss.tsv | tr '\t' ' ' | paste -sd';' - | sed 's/;/; /g')"
echo "long-running worker exit on SIGTERM: $LONG_RC; other workers that did not exit 0: $OTHER_BAD_EXITS; sanitizer reports: $SANITIZER_REPORTS"

[ "$STUCK" -eq 0 ] || problem "$STUCK executions stuck: $(jq -r '[.[] | select(.status == "queued" or .status == "running" or .status == "waiting") | "\(.id) \(.flow) \(.status)"][:5] | join("; ")' top.json)"
[ "$LOST" -eq 0 ] || problem "$LOST executions lost"
[ "$EXTRA" -eq 0 ] || problem "$EXTRA executions in the store that no enqueue reported"
[ "$ENQUEUED" -gt 0 ] || problem "nothing was queued"
[ "$ENQUEUE_ERRORS" -eq 0 ] || problem "$ENQUEUE_ERRORS enqueues failed: $(head -3 enqueue_errors.txt)"
[ "$DUPLICATES" -eq 0 ] || problem "$DUPLICATES duplicate side effects"
[ "$NOT_DONE" -eq 0 ] || problem "$NOT_DONE succeeded executions whose work is not in the org"
[ "$WRONG_USER" -eq 0 ] || problem "$WRONG_USER succeeded onboard_user executions name another user"
[ "$INTERNAL" -eq 0 ] || problem "$INTERNAL executions failed with kind internal: $(jq -r '[.[] | select(.error.kind == "internal") | "\(.id): \(.error.message)"][:3] | join("; ")' top.json)"
[ "$UNEXPLAINED" -eq 0 ] || problem "$UNEXPLAINED executions failed in a way the faults do not explain: $(jq -r 'map("\(.id) \(.flow) \(.error.kind) at \(.error.step): \(.error.message)")[:3] | join("; ")' unexplained.json)"
[ "$NO_KIND" -eq 0 ] || problem "$NO_KIND failed executions have no error kind"
[ "$CANCELLED" -eq 0 ] || problem "$CANCELLED executions cancelled (nobody cancels in the soak)"
[ "$DANGLING" -eq 0 ] || problem "$DANGLING attempts left running in ended executions"
[ "$EVENTS" -lt 40000 ] || problem "the System Log may have dropped events ($EVENTS): the ledger is incomplete"
[ "$UNEXPECTED_EXITS" -eq 0 ] || problem "$UNEXPECTED_EXITS workers ended without being killed"
[ "$LONG_DIED" -eq 0 ] || problem "the long-running worker died"
[ "$LONG_RC" -eq 0 ] || problem "the long-running worker exited $LONG_RC on SIGTERM"
[ "$OTHER_BAD_EXITS" -eq 0 ] || problem "$OTHER_BAD_EXITS workers did not exit 0 on SIGTERM"
[ "$SANITIZER_REPORTS" -eq 0 ] || problem "$SANITIZER_REPORTS sanitizer reports in the workers' stderr: $(grep -hE -m3 'ERROR: (Address|Leak)Sanitizer|runtime error:' worker.*.err | head -3)"
if [ "$RSS_START" -eq 0 ] || [ "$RSS_END" -eq 0 ]; then
  problem "no RSS sample of the long-running worker"
elif [ "$RSS_END" -gt "$RSS_LIMIT" ]; then
  problem "RSS grew past the bound: $RSS_START kB -> $RSS_END kB (limit $RSS_LIMIT kB)"
fi
if [ "${#PROBLEMS[@]}" -eq 0 ]; then
  echo "PASS"
  exit 0
fi
printf 'FAIL: %s\n' "${PROBLEMS[@]}"
exit 1
