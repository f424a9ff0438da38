#!/usr/bin/env bash
# Builds the tests that exercise threads (CTest label `threads`, listed in tests/CMakeLists.txt)
# with ThreadSanitizer in build/tsan, and runs them. Only those tests and the libraries they
# link are built: the whole engine under TSan would not fit in CI's time.
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
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSPOKEFLOW_TSAN=ON -DSPOKEFLOW_WERROR=ON \
  -DSPOKEFLOW_TCMALLOC=OFF -DCMAKE_CXX_FLAGS="" -DCMAKE_CXX_FLAGS_DEBUG="${TSAN_OPT:--O0 -g1}" \
  "${launcher[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target threaded_tests
echo "tsan: configured and built in ${SECONDS}s"
# TSAN_BUILD_ONLY=1: stop here (scripts/test.sh builds while the ASan tests run, and runs later).
[ -z "${TSAN_BUILD_ONLY:-}" ] || exit 0
# halt_on_error: the first race fails its test, with both stacks in the output.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
ctest --test-dir "$BUILD_DIR" -L threads --output-on-failure -j "$(nproc)"
