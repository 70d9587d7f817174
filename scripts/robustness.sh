#!/usr/bin/env bash
# Robustness of trained models to scans unlike their training cohort: scripts/robustness.py does the work; see its
# docstring for the settings. Usage: scripts/robustness.sh [WORK_DIR]   (default artifacts/robustness)
set -euo pipefail
exec python3 "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/robustness.py" "$@"
