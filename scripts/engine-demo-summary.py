#!/usr/bin/env python3
"""Summarises an engine demo folder (scripts/engine-demo.sh): Dice / VC / VDP per model and mode, Dice per lesion type,
and the wall times. Usage: scripts/engine-demo-summary.py WORK_DIR [STEPS]"""
import csv
import json
import os
import sys

work = sys.argv[1]
steps = sys.argv[2] if len(sys.argv) > 2 else "?"
os.chdir(work)
lesion = {r["case_id"]: r["lesion_type"] for r in csv.DictReader(open("cohort/manifest.csv"))}
times = {}
if os.path.exists("times.tsv"):
    for line in open("times.tsv").read().splitlines():
        if line:
            m, a, b = line.split("\t")
            times[m] = (int(a) / 1000, int(b) / 1000)


def f(s, k="mean"):
    v = s.get(k)
    return "n/a" if v is None else f"{v:.3f}"


def mean(xs):
    return f"{sum(xs) / len(xs):.3f} ({len(xs)})" if xs else "n/a"


def minutes(s):
    return f"{int(s // 60)} min {s % 60:04.1f} s"


print(f"Engine demo: small preset, {steps} steps, batch 8, seed 7, {os.cpu_count()} cores; fast protocol on held-out patients.\n")
print("| model | mode | Dice mean ± SD [95% CI] | VC [95% CI] | VDP mean ± SD [95% CI] "
      "| Dice haemorrhage (n) | Dice infarct (n) | lesion-free cases left empty (n) |")
print("|---|---|---|---|---|---|---|---|")
n = excluded = None
for m in ["sdpm", "sdpm-no-noise", "unet"]:
    for mode in ["avg", "sal", "infer", "all"]:
        p = f"eval-{m}-{mode}.json"
        if not os.path.exists(p):
            continue
        d = json.load(open(p))
        n, excluded = d["n"], d["n_vdp_excluded"]
        by = lambda t: [c["dice"] for c in d["cases"] if lesion[c["case"]] == t]
        # §7: a lesion-free case scores Dice 1 when the prediction is empty too, 0 otherwise.
        print(f"| {m} | {mode} | {f(d['dice'])} ± {f(d['dice'], 'sd')} [{f(d['dice'], 'ci_low')}, {f(d['dice'], 'ci_high')}] "
              f"| {f(d['vc'])} [{f(d['vc'], 'ci_low')}, {f(d['vc'], 'ci_high')}] "
              f"| {f(d['vdp'])} ± {f(d['vdp'], 'sd')} [{f(d['vdp'], 'ci_low')}, {f(d['vdp'], 'ci_high')}] "
              f"| {mean(by('hemorrhage'))} | {mean(by('infarct'))} | {int(sum(by('none')))} of {len(by('none'))} |")
print(f"\nHeld-out cases: {n}; VDP excludes {excluded} with an empty reference.\n")
if times:
    print("| model | training wall time | inference wall time (all modes, held-out cases) |")
    print("|---|---|---|")
    for m, (tr, inf) in times.items():
        print(f"| {m} | {minutes(tr)} | {minutes(inf)} |")
