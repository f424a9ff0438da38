#!/usr/bin/env bash
# Installs what is missing, then:
#   1. builds everything with AddressSanitizer + UndefinedBehaviorSanitizer and warnings as
#      errors, and runs every test (unit, integration, fuzz corpus replays) through CTest;
#   2. builds the tests that exercise threads with ThreadSanitizer and runs them (scripts/tsan.sh);
#   3. fuzzes each libFuzzer target for 60 s under ASan + UBSan (tests/fuzz/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build/asan}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSPOKEFLOW_SANITIZE=ON -DSPOKEFLOW_WERROR=ON \
  -DCMAKE_CXX_FLAGS="-O1"
cmake --build "$BUILD_DIR" -j "$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)"

bash scripts/tsan.sh
bash tests/fuzz/run.sh "${FUZZ_SECONDS:-60}"
