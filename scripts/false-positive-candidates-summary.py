#!/usr/bin/env python3
"""The table of scripts/false-positive-candidates.py's work folder (issue 12): per model and mode, over the seeds,
what it predicts on the lesion-free diagnosis heads (fast protocol, untuned) and the engine demo's held-out test
score of its settings chosen on validation, with the paired Dice difference against the demo's SDPM in the same mode.

Usage: scripts/false-positive-candidates-summary.py WORK_DIR [DEMO_DIR]   (DEMO_DIR default artifacts/engine-demo)
"""
import glob
import json
import os
import re
import statistics
import sys

from sdpm_stats import boot_ci

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
work = os.path.abspath(sys.argv[1])
demo = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "artifacts", "engine-demo"))


def load(path):
    return json.load(open(path)) if os.path.exists(path) and os.path.getsize(path) > 0 else None


def tuning(name):
    """The tune file of a run: the candidate's in WORK_DIR, the demo's own in DEMO_DIR."""
    return load(os.path.join(work, f"tune-{name}.json")) or load(os.path.join(demo, f"tune-{name}.json"))


# (model, seed) for every diagnosed model: fp-<model>-s<seed>-<mode>.json
runs = {}
for path in sorted(glob.glob(os.path.join(work, "fp-*-s*-*.json"))):
    m = re.fullmatch(r"fp-(.+)-s(\d+)-(avg|sal|infer|all)\.json", os.path.basename(path))
    if m:
        runs.setdefault((m.group(1), m.group(3)), {})[m.group(2)] = json.load(open(path))

order = {"unet": 0, "sdpm": 1}
modes = ["avg", "sal", "infer", "all"]
diag_seeds = sorted({s for v in runs.values() for s in v})
# Test scores for every seed a candidate was tuned in, diagnosed or not yet.
tuned = [m for p in glob.glob(os.path.join(work, "tune-*-s*.json"))
         if (m := re.fullmatch(r"tune-(.+)-s(\d+)\.json", os.path.basename(p))) and load(p) is not None]  # finished tunings only
seeds = sorted(set(diag_seeds) | {m.group(2) for m in tuned})
for m in tuned:
    runs.setdefault((m.group(1), "avg"), {})
# Every mode a model was tuned in has a row, diagnosed or not.
for model in {k[0] for k in runs}:
    for s in seeds:
        for m in (tuning(f"{model}-s{s}") or {"modes": []})["modes"]:
            runs.setdefault((model, m["mode"]), {})
keys = sorted(runs, key=lambda k: (order.get(k[0], 2), k[0], modes.index(k[1])))


substituted = set()


def choice(t, m, name):
    """The (held-out test, chosen row) of a mode's tuning chosen on the validation patients alone: when the tuning also
    had lesion-free heads (an engine demo run with SDPM_DEMO_LESION_FREE_TUNING), its choice without them, which is
    what a candidate's tuning (validation alone) is comparable to."""
    if t.get("lesion_free_heads") and (w := m.get("chosen_without_heads")) and w.get("held_out_test") is not None:
        substituted.add(name)
        return w["held_out_test"], w["row"]
    return m["held_out_test"], m["chosen"]["row"]


def f(v, fmt="{:.3f}"):
    return "n/a" if v is None else fmt.format(v)


def ci(vals):
    lo, hi = boot_ci(vals)
    return f"{statistics.fmean(vals):+.3f} [{f(lo, '{:+.3f}')}, {f(hi, '{:+.3f}')}]" if vals else "n/a"


print(f"Diagnosis heads: lesion-free, unseen by every model, fast protocol untuned (threshold 0.5, no minimum component); "
      f"seeds {', '.join(diag_seeds)}. Test (seeds {', '.join(seeds)}): the engine demo's held-out patients, each mode with its settings chosen on validation "
      f"(post grid), scored once.")
print()
print("| model | mode | diagnosis heads left empty | FP mL a head | FP components (median mL) | FP volume within 5 mm of bone "
      "| test Dice | ΔDice vs demo SDPM, same mode [95% CI] | test lesion-free left empty | chosen on validation (per seed) |")
print("|---|---|---|---|---|---|---|---|---|---|")
for model, mode in keys:
    per_seed = runs[(model, mode)]
    if per_seed:
        summaries = [per_seed[s]["summary"] for s in sorted(per_seed)]
        free = sum(x["lesion_free"] for x in summaries)
        empty = sum(x["empty"] for x in summaries)
        fp_ml = statistics.fmean(x["fp_ml_per_case"] for x in summaries)
        comps = [c for s in sorted(per_seed) for case in per_seed[s]["cases"] for c in case["components"]]
        total = sum(c["ml"] for c in comps)
        near = sum(c["ml"] for c in comps if c["mm_to_bone"] <= 5) / total if total > 0 else None
        median = statistics.median(c["ml"] for c in comps) if comps else None
        diag = f"{empty} of {free} | {fp_ml:.2f} | {len(comps)} ({f(median, '{:.3f}')}) | {f(near and 100 * near, '{:.0f}%')}"
    else:
        diag = "not diagnosed | | |"
    dice, diffs, test_free, test_empty, chosen = [], [], 0, 0, []
    for s in seeds:
        t = tuning(f"{model}-s{s}")
        if t is None:
            continue
        m = next((x for x in t["modes"] if x["mode"] == mode), None)
        if m is None or m["held_out_test"] is None:
            continue
        test, row = choice(t, m, f"{model}-s{s}")
        cases = test["cases"]
        post = re.search(r"thr=\S+ min=\S+ removal=\S+", row["configuration"]).group(0)
        chosen.append(post.replace("removal=", ""))
        dice += [c["dice"] for c in cases]  # every test patient, as the engine demo's table (a lesion-free one: 1 if left empty, else 0)
        for c in cases:
            if c["vol_ref_ml"] <= 0:
                test_free += 1
                test_empty += c["vol_pred_ml"] <= 0
        if model not in ("sdpm", "unet"):  # a candidate against the demo's SDPM
            base = tuning(f"sdpm-s{s}")
            bm = next((x for x in base["modes"] if x["mode"] == mode), None) if base else None
            if bm is not None and bm["held_out_test"] is not None:
                ref = {c["case"]: c["dice"] for c in choice(base, bm, f"sdpm-s{s}")[0]["cases"]}
                diffs += [c["dice"] - ref[c["case"]] for c in cases if c["case"] in ref]
    print(f"| {model} | {mode} | {diag} "
          f"| {f(statistics.fmean(dice) if dice else None)} | {ci(diffs) if diffs else ''} "
          f"| {test_empty} of {test_free} | {'; '.join(chosen)} |")
if substituted:
    print()
    print(f"({', '.join(sorted(substituted))}: tuned with lesion-free heads as well; shown and compared with the settings chosen on "
          f"the validation patients alone, as every candidate's are.)")
