#!/usr/bin/env bash
# The work queue on PostgreSQL (issue 19) through the real CLI: 16 `run`s at once on one store
# each run their own execution and no other; 16 queued executions taken by 3 `worker`
# processes at once run once each; a side effect per execution, none twice.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
SF="$SPOKEFLOW_TEST"
cd "$WORK"
EFFECTS="$WORK/effects.txt"
: > "$EFFECTS"
WORKERS=()
cleanup() {
  for p in "${WORKERS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pg_cleanup
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

echo "# 16 runs at once on one PostgreSQL store: each runs its own execution, no other"
pids=()
for i in $(seq 1 16); do
  "$SF" run quick --flows-dir "$FLOWS" --input file="$EFFECTS" --json > "run.$i.json" 2> "run.$i.err" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
ok=0 adopted=0
for i in $(seq 1 16); do
  [ "$(jq -r .status "run.$i.json" 2>/dev/null)" == succeeded ] && ok=$((ok + 1))
  jq -e 'has("resumed")' "run.$i.json" > /dev/null 2>&1 && adopted=$((adopted + 1))
done
[ "$ok" -eq 16 ] || cat run.*.err | head -20
expect_eq "all 16 succeeded" 16 "$ok"
expect_eq "none ran another's execution" 0 "$adopted"
expect_eq "16 side effects, each once" "16 0" "$(wc -l < "$EFFECTS") $(cut -d' ' -f1 "$EFFECTS" | sort | uniq -d | wc -l)"
expect_eq "the records are in PostgreSQL" 16 "$(pg_in_schema "SELECT count(*) FROM executions WHERE status = 'succeeded'")"

echo "# 3 workers at once on one store, 16 executions queued while they run: each runs once, on one worker"
: > "$EFFECTS"
for w in 0 1 2; do
  "$SF" worker --flows-dir "$FLOWS" --concurrency 4 --log-level info > "worker.$w.out" 2> "worker.$w.err" &
  WORKERS+=($!)
done
for w in 0 1 2; do wait_for 60 grep -q "worker started" "worker.$w.err" || fail "worker $w did not start"; done
ids=""
for i in $(seq 1 16); do
  "$SF" run quick --flows-dir "$FLOWS" --input file="$EFFECTS" --detach --json > "detach.$i.out" 2> "detach.$i.err" || true
  ids="$ids${ids:+,}'$(jq -r .execution_id "detach.$i.out")'"
done
unfinished() { pg_in_schema "SELECT count(*) FROM executions WHERE status IN ('queued', 'running', 'waiting')"; }
none_unfinished() { [ "$(unfinished)" -eq 0 ]; }
wait_for 120 none_unfinished || fail "executions left unfinished: $(unfinished)"
# Nothing is in flight: SIGINT stops at once (SIGTERM would wait out the drain's grace).
for p in "${WORKERS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
for p in "${WORKERS[@]}"; do wait "$p" 2>/dev/null || true; done
WORKERS=()
ran() { sed -n 's/^execution \([0-9A-Z]*\) (quick) succeeded$/\1/p' "$@"; }
echo "  executions run per worker: $(for w in 0 1 2; do ran "worker.$w.out" | wc -l; done | tr '\n' ' ')"
expect_eq "the workers ran 16 executions, none twice" "16 16" "$(ran worker.*.out | wc -l) $(ran worker.*.out | sort -u | wc -l)"
expect_eq "more than one worker took part" 1 \
  "$(for w in 0 1 2; do [ "$(ran "worker.$w.out" | wc -l)" -gt 0 ] && echo x; done | wc -l | awk '{print ($1 >= 2) ? 1 : 0}')"
expect_eq "32 succeeded in all" 32 "$(pg_in_schema "SELECT count(*) FROM executions WHERE status = 'succeeded'")"
expect_eq "16 side effects, each once" "16 0" "$(wc -l < "$EFFECTS") $(cut -d' ' -f1 "$EFFECTS" | sort | uniq -d | wc -l)"
expect_eq "each was claimed once (epoch 1)" 16 \
  "$(pg_in_schema "SELECT count(*) FROM executions WHERE id IN ($ids) AND status = 'succeeded' AND epoch = 1")"
[ -z "$PG_PASSWORD" ] || expect_no_secret "the store's password is in no output" "$PG_PASSWORD" run.*.json run.*.err detach.*.out detach.*.err worker.*.out worker.*.err
finish
