#!/usr/bin/env bash
# Runs the portal on http://127.0.0.1:5000 (ASPNETCORE_URLS changes that) with SQLite in ./data and demo accounts.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh run
# The portal and the engine worker it starts for each job (the web process never loads the engine).
dotnet build src/Sdpm.Portal/Sdpm.Portal.csproj -c Release -nologo -v quiet
dotnet build src/Sdpm.Worker/Sdpm.Worker.csproj -c Release -nologo -v quiet
exec dotnet src/Sdpm.Portal/bin/Release/net10.0/Sdpm.Portal.dll "$@"
