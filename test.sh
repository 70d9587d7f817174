#!/usr/bin/env bash
# Builds everything and runs every test project (unit, bUnit, HTTP, browser); ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")"
scripts/setup.sh test || exit 1

results=artifacts/test-results
rm -rf "$results" /tmp/sdpm-tests /tmp/sdpm-e2e
dotnet build Sdpm.Portal.sln -c Release -nologo -v quiet || { echo "0 passed, 1 failed"; exit 1; }

# One project at a time: each writes its own TRX file, and browser tests do not compete with the others for 2 cores.
status=0
for project in tests/*/*.csproj; do
  # Only test projects: tests/Sdpm.Portal.Bench (scripts/bench-portal.sh) is built above but is no test.
  grep -q '<IsTestProject>true</IsTestProject>' "$project" || continue
  name=$(basename "$project" .csproj)
  echo "== $name"
  dotnet test "$project" -c Release --no-build -nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" --results-directory "$results" || status=1
done

# The failed tests, named with their messages, just above the totals line (the tail of a CI log).
python3 scripts/test-failures.py "$results" 2>/dev/null || true
scripts/test-totals.sh "$results"
totals=$?
[ $status -eq 0 ] && [ $totals -eq 0 ]
