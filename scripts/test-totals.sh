#!/usr/bin/env bash
# Adds up the TRX files of a test run and prints one line: "N passed, N failed[, N skipped]".
# Exits non-zero when a test failed or no test ran.
set -euo pipefail
dir="$1"
passed=0; failed=0; skipped=0; files=0
for trx in "$dir"/*.trx; do
  [ -e "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  total=$(get total); p=$(get passed); f=$(get failed); e=$(get error); t=$(get timeout); a=$(get aborted)
  passed=$((passed + p))
  failed=$((failed + f + e + t + a))
  skipped=$((skipped + total - p - f - e - t - a))
done
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$files" -gt 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
