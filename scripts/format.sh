#!/usr/bin/env bash
# clang-format (Debian's, style in .clang-format) over the C++ sources of src/, bench/ and fuzz/.
# With --check it changes nothing and fails, listing the files, when one is not formatted
# (scripts/test.sh runs it so; CI with it).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files -co --exclude-standard 'src/*.cc' 'src/*.h' 'bench/*.cc' 'bench/*.h' \
  'fuzz/*.cc' 'fuzz/*.h')
if [ "${1:-}" = "--check" ]; then
  bad=()
  for f in "${files[@]}"; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done
  if [ ${#bad[@]} -gt 0 ]; then
    echo "spate: not formatted (run scripts/format.sh): ${bad[*]}" >&2
    exit 1
  fi
  exit 0
fi
clang-format -i "${files[@]}"
