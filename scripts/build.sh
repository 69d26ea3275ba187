#!/usr/bin/env bash
# Configures and builds spate into build/ (Release). Extra arguments go to cmake.
# SPATE_BUILD_DIR picks another directory, SPATE_BUILD_TARGET one target (default: all); CI=true
# turns warnings into errors.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${SPATE_BUILD_DIR:-build}
werror=OFF
if [ "${CI:-}" = "true" ]; then werror=ON; fi
cmake -S . -B "$dir" -G Ninja -DSPATE_WERROR=$werror "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)" ${SPATE_BUILD_TARGET:+--target "$SPATE_BUILD_TARGET"}
