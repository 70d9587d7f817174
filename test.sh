#!/usr/bin/env bash
# Builds everything and runs every test project (unit, bUnit, HTTP, browser) on SQLite, then the data, jobs and portal
# tests again on a throw-away PostgreSQL server that it starts and stops itself; ends with "N passed, N failed".
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

# The same data, jobs and portal tests on PostgreSQL (Database:Provider = PostgreSQL): a throw-away server in a temporary
# folder on a free loopback port (scripts/postgres-throwaway.sh), stopped and deleted on any exit.
pgdir=$(mktemp -d /tmp/sdpm-postgres.XXXXXX)
trap 'scripts/postgres-throwaway.sh stop "$pgdir"' EXIT
if server=$(scripts/postgres-throwaway.sh start "$pgdir"); then
  for name in Sdpm.Data.Tests Sdpm.Jobs.Tests Sdpm.Portal.Tests; do
    echo "== $name (PostgreSQL)"
    SDPM_TEST_DATABASE=postgresql SDPM_TEST_POSTGRES="$server" dotnet test "tests/$name/$name.csproj" -c Release --no-build -nologo \
      --logger "trx;LogFileName=$name.postgresql.trx" --logger "console;verbosity=normal" --results-directory "$results" || status=1
  done
else
  echo "test.sh: the throw-away PostgreSQL server did not start" >&2
  status=1
fi

# The failed tests, named with their messages, just above the totals line (the tail of a CI log).
python3 scripts/test-failures.py "$results" 2>/dev/null || true
scripts/test-totals.sh "$results"
totals=$?
[ $status -eq 0 ] && [ $totals -eq 0 ]
