#!/usr/bin/env bash
# The engine demo (README, "Engine demo"): scripts/engine-demo.py does the work; see its docstring for the settings.
# Usage: scripts/engine-demo.sh [WORK_DIR]   (default artifacts/engine-demo)
set -euo pipefail
exec python3 "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/engine-demo.py" "$@"
