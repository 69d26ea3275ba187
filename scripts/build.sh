#!/usr/bin/env bash
# Configures and builds spate into build/ (Release). Extra arguments go to cmake.
# SPATE_BUILD_DIR picks another directory, SPATE_BUILD_TARGET one target (default: all); CI=true
# turns warnings into errors.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${SPATE_BUILD_DIR:-build}
werror=OFF
if [ "${CI:-}" = "true" ]; then werror=ON; fi
launcher=()
if command -v ccache >/dev/null; then
  # Compiles are cached by their content, not by where the clone is: paths under the checkout
  # are hashed relative to it, and the build directory is left out of the hash (so debug info
  # may name the directory of the clone that first compiled a file).
  cache="env;CCACHE_BASEDIR=$PWD;CCACHE_NOHASHDIR=true;ccache"
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER="$cache" -DCMAKE_C_COMPILER_LAUNCHER="$cache")
fi
cmake -S . -B "$dir" -G Ninja -DSPATE_WERROR=$werror "${launcher[@]}" "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)" ${SPATE_BUILD_TARGET:+--target "$SPATE_BUILD_TARGET"}
