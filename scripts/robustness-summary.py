#!/usr/bin/env python3
"""Summarises robustness runs (scripts/robustness.sh) of one or more training seeds: per held-out cohort and
model-variant, Dice over the lesion patients averaged over the seeds, with a bootstrap 95% CI over (seed, patient)
pairs; then, per model, each variant's paired Dice difference against a reference variant on the same patients
(each patient's Dice averaged over the seeds first), with a bootstrap 95% CI over patients; and the mean predicted
volume on lesion-free patients; and each run's Dice drop against the standard held-out cohort.

Usage: scripts/robustness-summary.py [--against VARIANT] WORK_DIR [WORK_DIR ...]   (one WORK_DIR per training seed;
       --against defaults to matrix). Prints markdown.
"""
import json
import os
import statistics
import sys

from sdpm_stats import boot_ci

args = sys.argv[1:]
against = "matrix"
if len(args) >= 2 and args[0] == "--against":
    against, args = args[1], args[2:]
if not args:
    sys.exit(__doc__)
dirs = args


def load(folder, run, cohort):
    path = os.path.join(folder, f"eval-{run}-{cohort}.json")
    return {c["case"]: c for c in json.load(open(path))["cases"]} if os.path.exists(path) else None


# Runs and cohorts in the order the first folder's results.json lists them; only those every folder has.
keys = [k.split("/") for k in json.load(open(os.path.join(dirs[0], "results.json")))]
runs = list(dict.fromkeys(r for r, _ in keys))
cohorts = list(dict.fromkeys(c for _, c in keys))
evals = {(r, c): [load(d, r, c) for d in dirs] for r in runs for c in cohorts}
evals = {k: v for k, v in evals.items() if all(v)}
runs = [r for r in runs if any((r, c) in evals for c in cohorts)]


def lesion_dice(per_seed):
    """{case: [Dice per seed]} over the patients whose reference holds a lesion."""
    cases = [c for c, row in per_seed[0].items() if row["vol_ref_ml"] > 0]
    return {c: [s[c]["dice"] for s in per_seed] for c in cases}


def dice_pairs(run, cohort):
    """Every (seed, lesion patient) Dice of a run on a cohort."""
    return [d for ds in lesion_dice(evals[(run, cohort)]).values() for d in ds]


def free_ml(per_seed):
    vols = [s[c]["vol_pred_ml"] for s in per_seed for c, row in s.items() if row["vol_ref_ml"] == 0]
    return statistics.fmean(vols) if vols else float("nan")


print(f"Training seeds: {len(dirs)} ({', '.join(dirs)}). Dice over the lesion patients, mean over seeds and patients "
      "[bootstrap 95% CI over (seed, patient) pairs]; in brackets after it, the mean mL predicted on lesion-free patients.\n")
print("| cohort | " + " | ".join(runs) + " |")
print("|---|" + "---|" * len(runs))
for c in cohorts:
    cells = []
    for r in runs:
        if (r, c) not in evals:
            cells.append("")
            continue
        pairs = dice_pairs(r, c)
        lo, hi = boot_ci(pairs)
        cells.append(f"{statistics.fmean(pairs):.3f} [{lo:.2f}, {hi:.2f}] ({free_ml(evals[(r, c)]):.1f} mL)")
    print(f"| {c} | " + " | ".join(cells) + " |")

print(f"\nPaired Dice difference against `{against}` (same model, same patients; each patient's Dice averaged over the "
      "seeds), mean [bootstrap 95% CI over patients]:\n")
others = [r for r in runs if not r.endswith(f"-{against}")]
print("| cohort | " + " | ".join(f"{r} - {r.split('-')[0]}-{against}" for r in others) + " |")
print("|---|" + "---|" * len(others))
for c in cohorts:
    cells = []
    for r in others:
        base = f"{r.split('-')[0]}-{against}"
        if (r, c) not in evals or (base, c) not in evals:
            cells.append("")
            continue
        a, b = lesion_dice(evals[(r, c)]), lesion_dice(evals[(base, c)])
        diffs = [statistics.fmean(a[p]) - statistics.fmean(b[p]) for p in a if p in b]
        lo, hi = boot_ci(diffs)
        cells.append(f"{statistics.fmean(diffs):+.3f} [{lo:+.2f}, {hi:+.2f}]")
    print(f"| {c} | " + " | ".join(cells) + " |")

print("\nDice drop against the standard held-out cohort (standard's mean minus the cohort's; other patients, so not "
      "paired; negative: higher than on standard):\n")
print("| cohort | " + " | ".join(runs) + " |")
print("|---|" + "---|" * len(runs))
for c in cohorts:
    if c == "standard":
        continue
    cells = []
    for r in runs:
        if (r, c) not in evals or (r, "standard") not in evals:
            cells.append("")
            continue
        cells.append(f"{statistics.fmean(dice_pairs(r, 'standard')) - statistics.fmean(dice_pairs(r, c)):+.3f}")
    print(f"| {c} | " + " | ".join(cells) + " |")
