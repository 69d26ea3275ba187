#!/usr/bin/env bash
# Every test: installs what is missing, builds (warnings as errors under CI=true), runs the whole
# ctest suite (the sources' format and layering among it, label build). Beside it, niced, a
# second build with clang, AddressSanitizer + UndefinedBehaviorSanitizer and libFuzzer runs the
# unit tests and each fuzz target for a bounded time (fuzz/README.md); its output follows the
# suite's. Extra arguments go to the first ctest run (e.g. -L unit, -R property).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
mkdir -p build-asan
sanitizer_log=build-asan/test.log
# The service tests spend most of their time waiting for brokers, restarts and timeouts, so the
# sanitizer build and its tests take the CPU they leave rather than time of their own.
(
  SPATE_BUILD_DIR=build-asan nice -n 10 scripts/build.sh -DCMAKE_C_COMPILER=clang-14 \
    -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug -DSPATE_SANITIZE=ON -DSPATE_FUZZ=ON \
    -DSPATE_BENCH=OFF
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    nice -n 10 ctest --test-dir build-asan --output-on-failure --timeout 900 -j2 -L "unit|fuzz"
) > "$sanitizer_log" 2>&1 &
sanitizer=$!
# -j2: the tests without services run beside the others (tests/CMakeLists.txt: the locks).
status=0
ctest --test-dir build --output-on-failure --timeout 900 -j2 "$@" || status=$?
sanitizer_status=0
wait "$sanitizer" || sanitizer_status=$?
echo "== the sanitizer build (clang, ASan + UBSan, libFuzzer): $sanitizer_log"
cat "$sanitizer_log"
if [ "$status" -ne 0 ] || [ "$sanitizer_status" -ne 0 ]; then exit 1; fi
