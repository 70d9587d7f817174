#!/usr/bin/env bash
# The engine demo (README, "Engine demo"): a seeded synthetic cohort with infarcts and haemorrhages from four sites,
# SDPM and both baselines trained on the CPU with the same budget (small preset, default recipe), fast-protocol
# inference on the held-out patients, and Dice / VC / VDP per model and inference mode.
# Usage: scripts/engine-demo.sh [WORK_DIR]   (default artifacts/engine-demo; SDPM_DEMO_STEPS, default 700)
# Writes WORK_DIR/results.md and prints it (scripts/engine-demo-summary.py WORK_DIR remakes it). Everything runs through ./sdpm, as a user would run it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$root/artifacts/engine-demo}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
steps="${SDPM_DEMO_STEPS:-700}"
sdpm="$root/sdpm"
cd "$work"
"$sdpm" --help >/dev/null # builds the CLI before anything is timed

say() { echo "$(date +%T) $*" | tee -a demo.log; }
if [[ ! -f cohort/manifest.csv ]]; then
  say "synth"
  "$sdpm" synth --out cohort --cases 40 --sites 4 --seed 7 --lesion mixed --size 128 --slices 16 >> demo.log
fi
: > times.tsv
for model in sdpm sdpm-no-noise unet; do
  rm -rf "run-$model" "pred-$model"
  say "train $model ($steps steps)"
  start=$(date +%s%N)
  "$sdpm" train --data cohort --out "run-$model" --model "$model" --preset small --steps "$steps" --seed 7 \
    --test-fraction 0.3 --progress jsonl > "train-$model.jsonl"
  trained=$(date +%s%N)
  say "infer $model (fast protocol, held-out patients)"
  "$sdpm" infer --model "run-$model" --data cohort --out "pred-$model" --protocol fast --subset test \
    --progress jsonl > "infer-$model.jsonl"
  inferred=$(date +%s%N)
  printf '%s\t%s\t%s\n' "$model" "$(( (trained - start) / 1000000 ))" "$(( (inferred - trained) / 1000000 ))" >> times.tsv
  for pred in "pred-$model"/*/; do
    "$sdpm" eval --pred "$pred" --ref cohort --json > "eval-$model-$(basename "$pred").json"
  done
done
say "done"

python3 "$root/scripts/engine-demo-summary.py" "$work" "$steps" | tee results.md
