#!/usr/bin/env bash
# The engine demo (README, "Engine demo"): a seeded synthetic cohort with infarcts and haemorrhages from four sites,
# SDPM and both baselines trained on the CPU with the same budget (small preset, default recipe), fast-protocol
# inference on the held-out patients, and Dice / VC / VDP per model and inference mode.
# Usage: scripts/engine-demo.sh [WORK_DIR]   (default artifacts/engine-demo; SDPM_DEMO_STEPS, default 700)
# Writes WORK_DIR/results.md and prints it. Everything runs through ./sdpm, as a user would run it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mkdir -p "${1:-$root/artifacts/engine-demo}" && cd "${1:-$root/artifacts/engine-demo}" && pwd)"
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

python3 - "$work" "$steps" "$(nproc)" <<'PY' | tee results.md
import csv, json, os, sys
work, steps, cores = sys.argv[1], sys.argv[2], sys.argv[3]
os.chdir(work)
lesion = {r["case_id"]: r["lesion_type"] for r in csv.DictReader(open("cohort/manifest.csv"))}
times = {m: (int(a) / 1000, int(b) / 1000) for m, a, b in (l.split("\t") for l in open("times.tsv").read().split("\n") if l)}
def f(s, k="mean"):
    v = s.get(k)
    return "n/a" if v is None else f"{v:.3f}"
def mean(xs):
    return f"{sum(xs) / len(xs):.3f} ({len(xs)})" if xs else "n/a"
print(f"Engine demo: small preset, {steps} steps, batch 8, seed 7, {cores} cores; fast protocol on held-out patients.\n")
print("| model | mode | Dice mean ± SD [95% CI] | VC [95% CI] | VDP mean ± SD [95% CI] | Dice haemorrhage (n) | Dice infarct (n) |")
print("|---|---|---|---|---|---|---|")
n = excluded = None
for m in ["sdpm", "sdpm-no-noise", "unet"]:
    for mode in ["avg", "sal", "infer", "all"]:
        p = f"eval-{m}-{mode}.json"
        if not os.path.exists(p):
            continue
        d = json.load(open(p))
        n, excluded = d["n"], d["n_vdp_excluded"]
        h = [c["dice"] for c in d["cases"] if lesion[c["case"]] == "hemorrhage"]
        i = [c["dice"] for c in d["cases"] if lesion[c["case"]] == "infarct"]
        print(f"| {m} | {mode} | {f(d['dice'])} ± {f(d['dice'], 'sd')} [{f(d['dice'], 'ci_low')}, {f(d['dice'], 'ci_high')}] "
              f"| {f(d['vc'])} [{f(d['vc'], 'ci_low')}, {f(d['vc'], 'ci_high')}] "
              f"| {f(d['vdp'])} ± {f(d['vdp'], 'sd')} [{f(d['vdp'], 'ci_low')}, {f(d['vdp'], 'ci_high')}] | {mean(h)} | {mean(i)} |")
print(f"\nHeld-out cases: {n}; VDP excludes {excluded} with an empty reference.\n")
print("| model | training wall time | inference wall time (all modes, held-out cases) |")
print("|---|---|---|")
for m, (tr, inf) in times.items():
    print(f"| {m} | {int(tr // 60)} min {tr % 60:04.1f} s | {int(inf // 60)} min {inf % 60:04.1f} s |")
PY
