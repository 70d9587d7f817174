#!/usr/bin/env bash
# False-positive candidates (engine README, "False positives"): scripts/false-positive-candidates.py does the work.
# Usage: scripts/false-positive-candidates.sh [WORK_DIR] [DEMO_DIR]
set -euo pipefail
exec python3 "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/false-positive-candidates.py" "$@"
