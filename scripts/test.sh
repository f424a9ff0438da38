#!/usr/bin/env bash
# Installs what is missing, then:
#   1. builds everything with AddressSanitizer + UndefinedBehaviorSanitizer and warnings as
#      errors, starts a throwaway PostgreSQL cluster (scripts/pg-cluster.sh, removed on exit) for
#      the PostgreSQL store's tests, and runs every test (unit, integration, fuzz corpus
#      replays) through CTest;
#   2. builds the tests that exercise threads, and the spokeflow binaries, with ThreadSanitizer,
#      and runs them: the threaded unit tests, then the integration tests of the service and the
#      workers (scripts/tsan.sh);
#   3. fuzzes each libFuzzer target for FUZZ_SECONDS (default 60) under ASan + UBSan
#      (tests/fuzz/run.sh), two at a time.
# Steps 2 and 3 build beside step 1's tests, at idle priority (tests/fuzz/README.md has the
# measured times). The fuzz build is at -O0 (half the build's CPU time of -O1, a quarter of the
# inputs a second). Longer runs are for people: tests/fuzz/run.sh 600.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build/asan}
# -g1 (line tables) is all the sanitizers' stacks need, and builds in two thirds of -g's time. The
# benchmarks and the corpus replays are left out: nothing here runs the former, and step 3 runs
# every corpus file through the fuzz build.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSPOKEFLOW_SANITIZE=ON -DSPOKEFLOW_WERROR=ON \
  -DCMAKE_CXX_FLAGS="-O1" -DCMAKE_CXX_FLAGS_DEBUG="-g1" -DSPOKEFLOW_BENCHMARKS=OFF -DSPOKEFLOW_FUZZ_REPLAYS=OFF \
  -DSPOKEFLOW_QUICK_BUILD=ON
cmake --build "$BUILD_DIR" -j "$(nproc)"
# A throwaway PostgreSQL cluster for the PostgreSQL store's tests, removed on exit. When it cannot
# start, SPOKEFLOW_TEST_PG_URL stays unset and those tests fail saying so (they never skip).
PG_DIR=$(mktemp -u "${TMPDIR:-/tmp}/spokeflow-pg.XXXXXX")
SIDE_PID=
trap '[ -z "$SIDE_PID" ] || kill -- -"$SIDE_PID" 2>/dev/null || true; bash scripts/pg-cluster.sh stop "$PG_DIR"' EXIT
if PG_URL=$(bash scripts/pg-cluster.sh start "$PG_DIR"); then
  export SPOKEFLOW_TEST_PG_URL=$PG_URL
else
  echo "test: the PostgreSQL cluster did not start; the PostgreSQL tests will fail" >&2
fi
# Steps 2 and 3 are built meanwhile, on the CPU time the tests leave (most of them wait on
# timers, sockets and child processes), at idle priority: the tests never wait for them.
mkdir -p build
SIDE_LOG=build/side-builds.log
idle=(nice -n 19)
if command -v chrt >/dev/null && chrt --idle 0 true 2>/dev/null; then idle=(chrt --idle 0); fi
if command -v ionice >/dev/null; then idle+=(ionice -c 3); fi
FUZZ_OPT=${FUZZ_OPT:--O0 -gline-tables-only}
export FUZZ_OPT
set -m  # the side builds get a process group of their own, to stop them all on exit
"${idle[@]}" bash -c 'TSAN_BUILD_ONLY=1 bash scripts/tsan.sh && FUZZ_BUILD_ONLY=1 bash tests/fuzz/run.sh' > "$SIDE_LOG" 2>&1 &
SIDE_PID=$!
set +m
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)"

echo "test: waiting for the TSan and fuzz builds (log: $SIDE_LOG)"
if ! wait "$SIDE_PID"; then
  SIDE_PID=
  cat "$SIDE_LOG"
  echo "test: the TSan or fuzz build failed" >&2
  exit 1
fi
SIDE_PID=
grep -E '^(tsan|fuzz): configured and built' "$SIDE_LOG" || true
OKTA_SIM="$BUILD_DIR/tests/okta_sim/okta-sim" bash scripts/tsan.sh
bash tests/fuzz/run.sh "${FUZZ_SECONDS:-60}"
