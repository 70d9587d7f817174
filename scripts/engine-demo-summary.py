#!/usr/bin/env python3
"""Summarises an engine demo folder (scripts/engine-demo.py): per model and mode, Dice / VC / VDP and lesion-free
specificity on the held-out test patients, averaged over the training seeds; paired per-case differences against the
U-Net (same seed, same test patients) with bootstrap 95% CIs; wall times. Usage: scripts/engine-demo-summary.py WORK_DIR"""
import csv
import json
import os
import statistics
import sys

from sdpm_stats import boot_ci

work = sys.argv[1]
os.chdir(work)
settings = json.load(open("settings.json")) if os.path.exists("settings.json") else {}
times = json.load(open("times.json")) if os.path.exists("times.json") else {}
lesion = {r["case_id"]: r["lesion_type"] for r in csv.DictReader(open("cohort/manifest.csv"))}
MODELS = ["sdpm", "sdpm-no-noise", "unet", "unet-time"]
MODES = ["avg", "sal", "infer", "all"]


def load(name, mode):
    p = f"eval-{name}-{mode}.json"
    return json.load(open(p)) if os.path.exists(p) else None


def vdp(c):
    return abs(c["vol_pred_ml"] - c["vol_ref_ml"]) / c["vol_ref_ml"] if c["vol_ref_ml"] > 0 else None


def pearson(cases):
    """VC as `sdpm eval` defines it: Pearson r of predicted and reference volumes; None when a series is constant."""
    try:
        return statistics.correlation([c["vol_pred_ml"] for c in cases], [c["vol_ref_ml"] for c in cases])
    except statistics.StatisticsError:
        return None


def fmt(v, digits=3):
    return "n/a" if v is None else f"{v:.{digits}f}"


def ci(values):
    lo, hi = boot_ci(values)
    return f"{fmt(statistics.fmean(values)) if values else 'n/a'} [{fmt(lo)}, {fmt(hi)}]"


seeds = sorted({v[1] for v in times.values()}) or sorted({n.split("-s")[-1] for n in os.listdir(".") if n.startswith("run-")})
tuned = ("the fast protocol's sampling settings, untuned" if settings.get("tune") == "none"
         else f"sampling settings tuned on validation ({settings.get('tune', '?')} grid)")
print(f"Engine demo: preset {settings.get('preset', '?')}, {settings.get('steps', '?')} steps, seeds {', '.join(seeds)}, "
      f"{settings.get('cases', '?')} patients (test fraction {settings.get('test_fraction', '?')}, validation "
      f"{settings.get('validation_fraction', '?')}), {tuned}, "
      f"{settings.get('cores', os.cpu_count())} cores"
      + (f", the wide generator's cohort" if settings.get("variation") == "wide" else "")
      + (f", trained with {' '.join(settings['train_flags'])}" if settings.get("train_flags") else "")
      + ". Each test patient is scored once per seed; CIs resample (seed, patient) pairs.\n")
print("| model | mode | Dice mean [95% CI] | VDP mean [95% CI] | VC | lesion-free left empty | per seed: Dice |")
print("|---|---|---|---|---|---|---|")
rows = {}
for m in MODELS:
    for mode in MODES:
        per_seed = {s: load(f"{m}-s{s}", mode) for s in seeds}
        per_seed = {s: d for s, d in per_seed.items() if d}
        if not per_seed:
            continue
        cases = [(s, c) for s, d in per_seed.items() for c in d["cases"]]
        rows[(m, mode)] = {(s, c["case"]): c for s, c in cases}
        dice = [c["dice"] for _, c in cases]
        vdps = [v for _, c in cases if (v := vdp(c)) is not None]
        free = [c for _, c in cases if lesion[c["case"]] == "none"]
        vcs = [v for d in per_seed.values() if (v := pearson(d["cases"])) is not None]
        vc = statistics.fmean(vcs) if vcs else None
        seeds_text = ", ".join(fmt(statistics.fmean(c["dice"] for c in d["cases"])) for d in per_seed.values())
        print(f"| {m} | {mode} | {ci(dice)} | {ci(vdps)} | {fmt(vc)} | {sum(1 for c in free if c['vol_pred_ml'] == 0)} of {len(free)} | {seeds_text} |")

types = sorted({t for t in lesion.values() if t != "none"})
if rows and len(types) > 1:
    # A mean over both lesion types hides a model that learned one of them only (seed 8's SDPM found no infarct).
    print("\nDice by lesion type (test patients with a lesion; mean [95% CI], and per seed):\n")
    print("| model | mode | " + " | ".join(types) + " |")
    print("|---|---|" + "---|" * len(types))
    for (m, mode), r in rows.items():
        cells = []
        for t in types:
            by_seed = {}
            for (s, case), c in r.items():
                if lesion[case] == t:
                    by_seed.setdefault(s, []).append(c["dice"])
            values = [v for vs in by_seed.values() for v in vs]
            cells.append(f"{ci(values)}; " + ", ".join(fmt(statistics.fmean(vs)) for _, vs in sorted(by_seed.items())))
        print(f"| {m} | {mode} | " + " | ".join(cells) + " |")

if rows and any(t == "none" for t in lesion.values()):
    # How much a false positive is, not only how often: the volume predicted on each lesion-free patient not left empty.
    print("\nLesion-free test patients (every seed): mL predicted on each one not left empty, in case order, and the mean over all:\n")
    print("| model | mode | left empty | mL where not empty | mean mL |")
    print("|---|---|---|---|---|")
    for (m, mode), r in rows.items():
        free = [c for (s, case), c in sorted(r.items()) if lesion[case] == "none"]
        if not free:
            continue
        found = [f"{c['vol_pred_ml']:.1f}" for c in free if c["vol_pred_ml"] > 0]
        print(f"| {m} | {mode} | {len(free) - len(found)} of {len(free)} | {', '.join(found) or 'none'} | "
              f"{statistics.fmean(c['vol_pred_ml'] for c in free):.2f} |")

if ("unet", "avg") in rows:
    print("\nPaired differences against the U-Net (avg) on the same test patients and seed (positive Dice: better than the "
          "U-Net; negative VDP: better):\n")
    print("| model | mode | ΔDice mean [95% CI] | ΔVDP mean [95% CI] | pairs |")
    print("|---|---|---|---|---|")
    base = rows[("unet", "avg")]
    for (m, mode), r in rows.items():
        if (m, mode) == ("unet", "avg"):
            continue
        keys = [k for k in r if k in base]
        dd = [r[k]["dice"] - base[k]["dice"] for k in keys]
        dv = [vdp(r[k]) - vdp(base[k]) for k in keys if vdp(r[k]) is not None]
        print(f"| {m} | {mode} | {ci(dd)} | {ci(dv)} | {len(keys)} |")

chosen = [(name, m) for name in times for p in [f"tune-{name}.json"] if os.path.exists(p) and os.path.getsize(p) > 0
          for m in json.load(open(p))["modes"]]
if chosen:
    print("\nSettings chosen on each run's validation patients (`sdpm tune`; the test patients scored once afterwards):\n")
    print("| run | mode | chosen | passes/slice | validation Dice | validation specificity |")
    print("|---|---|---|---|---|---|")
    for name, m in chosen:
        row = m["chosen"]["row"]
        print(f"| {name} | {m['mode']} | {row['configuration']} | {row['score']['passes']} | {fmt(row['score']['dice'])} | "
              f"{fmt(row['score']['specificity'], 2)} |")

if times:
    what = "inference of its modes on the test patients" if settings.get("tune") == "none" else "tuning on validation, then scoring the test patients"
    print(f"\n| run | steps | training time | {what} |")
    print("|---|---|---|---|")
    for name, (model, seed, steps, trained, inferred) in times.items():
        # A tuning kept from a demo started before its times were kept has no time of its own.
        print(f"| {name} | {steps} | {trained / 60:.1f} min | {'not recorded' if inferred is None else f'{inferred / 60:.1f} min'} |")
