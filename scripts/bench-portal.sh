#!/usr/bin/env bash
# Builds the solution in Release and runs the portal benchmark (tests/Sdpm.Portal.Bench); arguments pass through,
# e.g. scripts/bench-portal.sh --json > bench.json, or --only slices,list. --help lists the options.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test >&2 # the stroke figure drives chromium
dotnet build Sdpm.Portal.sln -c Release -nologo -v quiet >&2
exec dotnet tests/Sdpm.Portal.Bench/bin/Release/net10.0/Sdpm.Portal.Bench.dll "$@"
