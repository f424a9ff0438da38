#!/usr/bin/env bash
# ThreadSanitizer, in build/tsan:
#   1. the tests that exercise threads (CTest label `threads`, listed in tests/CMakeLists.txt):
#      the store's thread, the work queue, the engine over the store's thread, the HTTP client
#      with curl's resolver threads, vault writers;
#   2. the worker and the service themselves: the `spokeflow` and `spokeflow-test` binaries built
#      with TSan run the integration tests that drive their threads (serve with its HTTP server,
#      hooks, event streams and metrics; workers on SQLite; workers on PostgreSQL with the
#      NOTIFY listener; the shared rate budget's thread is unit.rate_budget_pg_test's). okta-sim
#      is not instrumented (the races looked for are spokeflow's): OKTA_SIM, by default the ASan
#      build's.
# Only those targets and the libraries they link are built: the rest under TSan would not fit
# in CI's time.
#
#   scripts/tsan.sh                 TSAN_OPT="-O1 -g" scripts/tsan.sh  (the default is -O0 -g1)
#   TSAN_BUILD_ONLY=1 scripts/tsan.sh   builds, runs nothing
#
# -O0 with line tables only: the build is what costs (the tests run in seconds), and this cuts
# its CPU time by a quarter (tests/fuzz/README.md); races are found the same, and their stacks
# still name file:line.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${TSAN_BUILD_DIR:-build/tsan}
# TSAN_IT_TESTS="serve_test" runs only those.
read -r -a IT_TESTS <<< "${TSAN_IT_TESTS:-queue_test serve_test pg_queue_test}"
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSPOKEFLOW_TSAN=ON -DSPOKEFLOW_WERROR=ON \
  -DSPOKEFLOW_TCMALLOC=OFF -DCMAKE_CXX_FLAGS="" -DCMAKE_CXX_FLAGS_DEBUG="${TSAN_OPT:--O0 -g1}" \
  "${launcher[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target threaded_tests spokeflow spokeflow-test
echo "tsan: configured and built in ${SECONDS}s"
# TSAN_BUILD_ONLY=1: stop here (scripts/test.sh builds while the ASan tests run, and runs later).
[ -z "${TSAN_BUILD_ONLY:-}" ] || exit 0
# halt_on_error: the first race fails its test, with both stacks in the output.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
ctest --test-dir "$BUILD_DIR" -L threads --output-on-failure -j "$(nproc)"

OKTA_SIM=${OKTA_SIM:-build/asan/tests/okta_sim/okta-sim}
if [ ! -x "$OKTA_SIM" ]; then
  echo "tsan: okta-sim not found at $OKTA_SIM: build it (cmake --build build/asan --target okta-sim) or set OKTA_SIM" >&2
  exit 2
fi
# The integration tests start spokeflow as child processes and keep their stderr in folders they
# remove: every report goes to a file here instead, and any file is a failure, whatever the
# test's own verdict.
BUILD_ABS=$(cd "$BUILD_DIR" && pwd)
REPORTS="$BUILD_ABS/reports"
LOGS="$BUILD_ABS/it-logs"
rm -rf "$REPORTS" "$LOGS"
mkdir -p "$REPORTS" "$LOGS"
export TSAN_OPTIONS="$TSAN_OPTIONS:log_path=$REPORTS/tsan"
export SPOKEFLOW="$BUILD_ABS/engine/cli/spokeflow" SPOKEFLOW_TEST="$BUILD_ABS/tests/spokeflow-test"
export OKTA_SIM=$(readlink -f "$OKTA_SIM") SRC_DIR=$PWD TEST_DIR=$PWD/tests
export ASAN_OPTIONS=detect_leaks=0  # okta-sim's
failed=0
run_it() {
  local t=$1 start=$SECONDS
  if timeout 600 bash "tests/integration/$t.sh" > "$LOGS/$t.log" 2>&1; then
    echo "tsan: it.$t passed in $((SECONDS - start))s"
  else
    echo "tsan: it.$t FAILED in $((SECONDS - start))s; its output:"
    cat "$LOGS/$t.log"
    return 1
  fi
}
# Two at a time: each test waits mostly on its processes' timers and sockets.
pids=()
for t in "${IT_TESTS[@]}"; do
  run_it "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge 2 ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
if compgen -G "$REPORTS/tsan.*" > /dev/null; then
  echo "tsan: ThreadSanitizer reports from the worker or the service:" >&2
  cat "$REPORTS"/tsan.* >&2
  failed=1
fi
[ "$failed" -eq 0 ] || exit 1
echo "tsan: no race reported by the threaded tests or the ${#IT_TESTS[@]} integration tests"
