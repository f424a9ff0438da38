#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-15, ASan + UBSan, in build/fuzz: only the fuzz targets and
# the libraries they use) and runs each for SECONDS (default 60), as many at once as there are
# cores. Prints the executions of each target and every failure; exits 1 when a target found
# one, naming the input it stopped on.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      e.g. tests/fuzz/run.sh 300 expr
#
# FUZZ_OPT sets the optimization (default -O1 -gline-tables-only). -O0 builds in about half the
# CPU time but runs 4-6 times fewer inputs a second: worth it only for runs of a few seconds, as
# in CI (scripts/test.sh). Changing it rebuilds build/fuzz.
#
# New inputs that reach new code go to build/fuzz/corpus/<target> (kept between runs); failing
# inputs to build/fuzz/crashes/<target>/. Replay one with build/fuzz/tests/fuzz/fuzz_<target> FILE,
# and make it a regression test by copying it to tests/fuzz/corpus/<target>/ (see README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."

SECONDS_EACH=${1:-60}
shift || true
ALL_TARGETS=(flow expr connections inputs okta_sim cron hook serve_http)
TARGETS=("${@:-${ALL_TARGETS[@]}}")
BUILD_DIR=${FUZZ_BUILD_DIR:-build/fuzz}
CXX_FUZZ=${CXX_FUZZ:-clang++-15}
PARALLEL=${FUZZ_PARALLEL:-$(nproc)}

command -v "$CXX_FUZZ" >/dev/null || {
  echo "fuzz: $CXX_FUZZ not found (scripts/setup.sh installs clang-15 and libfuzzer-15-dev)" >&2
  exit 2
}
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER="$CXX_FUZZ" \
  -DCMAKE_CXX_FLAGS="" -DCMAKE_CXX_FLAGS_DEBUG="${FUZZ_OPT:--O1 -gline-tables-only}" -DSPOKEFLOW_FUZZ=ON \
  -DSPOKEFLOW_TCMALLOC=OFF "${launcher[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target "${TARGETS[@]/#/fuzz_}"
echo "fuzz: configured and built in ${SECONDS}s"
# FUZZ_BUILD_ONLY=1: stop here (scripts/test.sh builds while the ASan tests run, and fuzzes later).
[ -z "${FUZZ_BUILD_ONLY:-}" ] || exit 0

# A leak, an ASan or UBSan report, a broken property (abort), 25 s on one input (no input takes
# a second now) or more than 2 GiB of memory is a failure.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Stacks with names when an llvm-symbolizer is installed (the sanitizers refuse a symlink to it);
# without one, replaying the input in the GCC ASan build (ctest -R fuzz.<target>) names them.
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
  for s in llvm-symbolizer-15 llvm-symbolizer; do
    if command -v "$s" >/dev/null; then
      export ASAN_SYMBOLIZER_PATH=$(readlink -f "$(command -v "$s")")
      break
    fi
  done
fi

fuzz_one() {
  local t=$1 work="$BUILD_DIR/corpus/$1" crashes="$BUILD_DIR/crashes/$1" log="$BUILD_DIR/logs/$1.log"
  mkdir -p "$work" "$crashes" "$(dirname "$log")"
  local dict=()
  if [ -f "tests/fuzz/dict/$t.dict" ]; then dict=(-dict="tests/fuzz/dict/$t.dict"); fi
  local rc=0
  "$BUILD_DIR/tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -timeout=25 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" "${dict[@]}" \
    "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  echo "$rc" >"$log.rc"
}

running=0
for t in "${TARGETS[@]}"; do
  if [ "$running" -ge "$PARALLEL" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  echo "fuzz: $t for ${SECONDS_EACH}s"
  fuzz_one "$t" &
  running=$((running + 1))
done
wait

status=0
summary=()
for t in "${TARGETS[@]}"; do
  log="$BUILD_DIR/logs/$t.log"
  rc=$(cat "$log.rc")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  per_sec=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ "$rc" -ne 0 ]; then
    status=1
    # libFuzzer names the input it stopped on: crash-, leak-, timeout- or oom-<sha1>.
    input=$(sed -n 's/.*Test unit written to //p' "$log" | tail -1)
    echo "fuzz: $t FAILED (exit $rc); from $log:" >&2
    excerpt=$(grep -E -A40 '^==[0-9]+==ERROR|runtime error|^fuzz: property broken|deadly signal|ERROR: libFuzzer' \
      "$log" | head -80 || true)
    if [ -n "$excerpt" ]; then echo "$excerpt" >&2; else tail -40 "$log" >&2; fi
    summary+=("$t: ${execs:-?} executions (${per_sec:-?}/s), FAILED on ${input:-no input written (see $log)}")
  else
    summary+=("$t: ${execs:-?} executions (${per_sec:-?}/s), no crash")
  fi
done
echo "fuzz: ${SECONDS_EACH}s each, $PARALLEL at a time"
printf '  %s\n' "${summary[@]}"
failed=$(printf '%s\n' "${summary[@]}" | grep -c ', FAILED on ' || true)
echo "fuzz: $((${#TARGETS[@]} - failed)) passed, $failed failed"
if [ "$status" -ne 0 ]; then
  echo "fuzz: replay one with $BUILD_DIR/tests/fuzz/fuzz_<target> <input>; to keep it as a regression test see tests/fuzz/README.md" >&2
fi
exit $status
