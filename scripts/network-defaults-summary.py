#!/usr/bin/env python3
"""Sampling defaults across training seeds (issue 12), from the `sdpm tune` files of an engine demo run with
SDPM_DEMO_TUNE=quick (or full): WORK_DIR/tune-sdpm-s*.json.

Per mode, every configuration's validation scores are averaged over the seeds (Dice, VDP and specificity; the passes
are the same), and the default is chosen from those means by sdpm tune's own rule: on the Pareto front (max Dice, min
VDP, max specificity, min passes), the fewest passes within the tolerance of the front's best Dice. As a check of this
re-implementation, the rule applied to each seed's rows alone must give the row that sdpm tune chose for that seed.
The test patients are not read here: only validation scores.

Usage: scripts/network-defaults-summary.py WORK_DIR [MODEL]   (MODEL: sdpm, the default, or sdpm-no-noise)
"""
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tune_rule  # noqa: E402

work = sys.argv[1] if len(sys.argv) > 1 else "artifacts/network-defaults"
model = sys.argv[2] if len(sys.argv) > 2 else "sdpm"
files = sorted(glob.glob(os.path.join(work, f"tune-{model}-s*.json")))
files = [f for f in files if re.fullmatch(rf"tune-{re.escape(model)}-s\d+\.json", os.path.basename(f))]
if not files:
    sys.exit(f"no tune-{model}-s*.json in {work}: run the engine demo with SDPM_DEMO_TUNE=quick there first")
runs = {re.search(r"-s(\d+)\.json$", f).group(1): json.load(open(f)) for f in files}
grids = {r["grid"] for r in runs.values()}
if len(grids) != 1:
    sys.exit(f"the seeds were tuned on different grids ({', '.join(sorted(grids))})")
tolerance = next(iter(runs.values()))["dice_tolerance"]


def front(scores):
    return tune_rule.front(scores)


def choose(scores, floor=None):
    return tune_rule.choose(scores, tolerance, floor)


def is_former_fast(mode, row):
    """The network setting of the fast protocol before these defaults (Ti = T/2, N = 4, nu = 1, d = 1, std, eta = 1), in
    the values the mode depends on (sal ignores d, the label noise and eta; infer ignores nu)."""
    same = row["ti"] == first["diffusion_steps"] // 2 and row["repeats"] == 4
    if mode != "infer":
        same = same and row["nu"] == 1
    if mode != "sal":
        same = same and row["d"] == 1 and row["label_noise"] == "std" and row["eta"] == 1
    return same


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def f3(v):
    return "n/a" if v is None else f"{v:.3f}"


seeds = sorted(runs, key=int)
first = runs[seeds[0]]
print(f"# Sampling defaults chosen on validation: {model}, grid {first['grid']}, T = {first['diffusion_steps']}, "
      f"seeds {', '.join(seeds)}")
print()
print("Validation patients per seed: " + ", ".join(
    f"s{s}: {len(runs[s]['validation_cases'])} ({runs[s]['lesion_free_validation']} lesion-free)" for s in seeds)
      + ". Scores are the means over the seeds of each seed's validation scores.")
print()
chosen_rows = {}
for mi, m in enumerate(first["modes"]):
    mode = m["mode"]
    per_seed = {s: next(x for x in runs[s]["modes"] if x["mode"] == mode) for s in seeds}
    # The check: this script's rule gives sdpm tune's choice on each seed alone.
    for s in seeds:
        rows = per_seed[s]["rows"]
        mine = rows[choose([r["score"] for r in rows], runs[s].get("specificity_floor"))]["configuration"]
        theirs = per_seed[s]["chosen"]["row"]["configuration"]
        if mine != theirs:
            sys.exit(f"{mode}, seed {s}: this script chose '{mine}', sdpm tune '{theirs}': the rules differ")
    configs = [r["configuration"] for r in per_seed[seeds[0]]["rows"]]
    by_seed = {s: {r["configuration"]: r for r in per_seed[s]["rows"]} for s in seeds}
    if any(set(by_seed[s]) != set(configs) for s in seeds):
        sys.exit(f"{mode}: the seeds' tables list different configurations")
    combined = []
    for c in configs:
        scores = [by_seed[s][c]["score"] for s in seeds]
        combined.append({"dice": mean([x["dice"] for x in scores]), "vdp": mean([x["vdp"] for x in scores]),
                         "specificity": mean([x["specificity"] for x in scores]), "passes": scores[0]["passes"]})
    pick = choose(combined)
    on_front = set(front(combined))
    chosen_rows[mode] = (configs[pick], combined[pick], by_seed[seeds[0]][configs[pick]]["flags"])
    print(f"## {mode}")
    print()
    print(f"Chosen: `{configs[pick]}` (`sdpm infer {by_seed[seeds[0]][configs[pick]]['flags']}`)")
    print()
    # One line per network setting: its best post-processing by mean Dice, the chosen one for the chosen setting (the
    # full table is in each tune-*.md).
    network_of = lambda c: re.sub(r"thr=.*$", "", c).strip() or "(no network setting)"
    best = {}
    for i, c in enumerate(configs):
        n = network_of(c)
        if n not in best or combined[i]["dice"] > combined[best[n]]["dice"]:
            best[n] = i
    best[network_of(configs[pick])] = pick  # the chosen setting's line shows the chosen post-processing
    seed_cols = " | ".join(f"Dice s{s}" for s in seeds)
    print(f"| network setting | passes/slice | best post-processing | mean Dice | {seed_cols} | VDP | specificity | front |")
    print("|" + "---|" * (7 + len(seeds)))
    for n, i in sorted(best.items(), key=lambda kv: (-combined[kv[1]]["dice"], combined[kv[1]]["passes"])):
        c = configs[i]
        post = c[len(n):].strip() if n != "(no network setting)" else c
        marks = ("chosen" if i == pick else "*" if i in on_front else "")
        if n != "(no network setting)" and is_former_fast(mode, by_seed[seeds[0]][c]):
            n += " (former fast protocol)"
        per = " | ".join(f3(by_seed[s][c]["score"]["dice"]) for s in seeds)
        print(f"| {n} | {combined[i]['passes']} | {post} | {f3(combined[i]['dice'])} | {per} | {f3(combined[i]['vdp'])} | "
              f"{f3(combined[i]['specificity'])} | {marks} |")
    print()
print("## Chosen per mode")
print()
print("| mode | configuration | passes/slice | mean validation Dice | VDP | specificity |")
print("|---|---|---|---|---|---|")
for mode, (c, s, _) in chosen_rows.items():
    print(f"| {mode} | {c} | {s['passes']} | {f3(s['dice'])} | {f3(s['vdp'])} | {f3(s['specificity'])} |")
