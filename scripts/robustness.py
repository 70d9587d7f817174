#!/usr/bin/env python3
"""Robustness of trained models to scans unlike their training cohort (issue 12), driven through ./sdpm.

Trains SDPM and the U-Net on one standard synthetic cohort (128 x 128, the engine demo's recipe), once per
preprocessing variant (by default the scan's whole matrix resampled, and a 240 mm physical field), then segments
held-out cohorts that differ from it in one way each (matrix 160/256/512, field of view and so in-plane spacing
0.4-1.4 mm, slice thickness and count) and a cohort of the wide generator (other head sizes, shapes, skull thickness,
textures, cupping, noise, blur, grids), and prints per cohort: Dice over the lesion patients, its drop against the
standard held-out cohort, the mean absolute volume error, and how many lesion-free patients were predicted empty.

Usage: scripts/robustness.sh [WORK_DIR]   (default artifacts/robustness)
Environment (defaults in brackets): SDPM_ROBUST_TRAIN_CASES [60], SDPM_ROBUST_CASES [12] per held-out cohort,
SDPM_ROBUST_STEPS [700], SDPM_ROBUST_PRESET [small], SDPM_ROBUST_SEED [7], SDPM_ROBUST_MODELS ["unet sdpm"],
SDPM_ROBUST_VARIANTS ["matrix field240"] (names from VARIANTS below: extra `sdpm train` flags and a training cohort),
SDPM_ROBUST_COHORTS [all] (names from COHORTS below, space separated).
Models and cohorts already in WORK_DIR are reused; remove them to make them again. One WORK_DIR per training seed;
scripts/robustness-summary.py WORK_DIR [WORK_DIR ...] then averages the seeds, with CIs and paired differences.
"""
import json
import os
import sys
import time

from sdpm_session import ROOT as root, Session

work = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "artifacts", "robustness"))
env = os.environ.get
train_cases = env("SDPM_ROBUST_TRAIN_CASES", "60")
cases = env("SDPM_ROBUST_CASES", "12")
steps = env("SDPM_ROBUST_STEPS", "700")
preset = env("SDPM_ROBUST_PRESET", "small")
seed = env("SDPM_ROBUST_SEED", "7")
models = env("SDPM_ROBUST_MODELS", "unet sdpm").split()
# Each variant: extra `sdpm train` flags and the training cohort (standard, or the wide generator's).
VARIANTS = {
    "matrix": ([], "standard"),  # the scan's whole matrix resampled to the network's size
    "field240": (["--field-mm", "240"], "standard"),  # a 240 mm square centred on the scan
    "skull": (["--skull-above-hu", "100", "--skull-margin", "1"], "standard"),  # bone and its rim out of the head mask
    "field240-skull": (["--field-mm", "240", "--skull-above-hu", "100", "--skull-margin", "1"], "standard"),
    "field240-widetrain": (["--field-mm", "240"], "wide"),  # trained on the wide generator: its wide row is in-distribution
    "augwide": (["--augment", "wide"], "standard"),  # standard heads, wide augmentation (what a site's own scans can have)
    "field240-augwide": (["--field-mm", "240", "--augment", "wide"], "standard"),
}
TRAIN_COHORTS = {"standard": ["--size", "128", "--slices", "16"], "wide": ["--variation", "wide", "--slices", "16"]}
variants = env("SDPM_ROBUST_VARIANTS", "matrix field240").split()
runs = [(f"{m}-{v}", m, VARIANTS[v]) for v in variants for m in models]

# Held-out cohorts: a seed of their own (other patients), one shift each against the training cohort
# (standard generator, 128 x 128, 16 slices, 220-250 mm field of view, 2.5 and 5 mm slices).
COHORTS = {
    "standard": [],
    "size160": ["--size", "160"],
    "size256": ["--size", "256"],
    "size512": ["--size", "512", "--fov", "200"],
    "fov180": ["--fov", "180"],
    "fov300": ["--fov", "300"],
    "thin24": ["--slice-mm", "2.5", "--slices", "24"],
    "thick5mm": ["--slice-mm", "5", "--slices", "16"],
    "wide": ["--variation", "wide", "--slices", "24"],
}
chosen = env("SDPM_ROBUST_COHORTS", "all")
cohorts = COHORTS if chosen == "all" else {k: COHORTS[k] for k in chosen.split()}

session = Session(work, "robustness.log")
say, run = session.say, session.run


def summary(eval_json):
    """Dice over lesion patients, mean |pred - ref| mL over them, and lesion-free patients predicted empty."""
    rows = json.load(open(eval_json))["cases"]
    lesion = [r for r in rows if r["vol_ref_ml"] > 0]
    free = [r for r in rows if r["vol_ref_ml"] == 0]
    dice = sum(r["dice"] for r in lesion) / len(lesion) if lesion else float("nan")
    err = sum(abs(r["vol_pred_ml"] - r["vol_ref_ml"]) for r in lesion) / len(lesion) if lesion else float("nan")
    empty = sum(1 for r in free if r["vol_pred_ml"] == 0)
    free_ml = sum(r["vol_pred_ml"] for r in free) / len(free) if free else float("nan")
    return {"dice": dice, "abs_err_ml": err, "lesion": len(lesion), "free": len(free), "free_empty": empty, "free_ml": free_ml}


run("--help")  # builds the CLI first

def train_cohort(kind):
    folder = "train-cohort" if kind == "standard" else f"train-cohort-{kind}"
    if not os.path.exists(os.path.join(folder, "manifest.csv")):
        say(f"synth: {kind} training cohort, {train_cases} cases")
        run("synth", "--out", folder, "--cases", train_cases, "--sites", "4", "--seed", "7", *TRAIN_COHORTS[kind], out=f"synth-{folder}.txt")
    return folder


for name, model, (flags, kind) in runs:
    if not os.path.exists(os.path.join(name, "run.json")):
        data = train_cohort(kind)
        say(f"train {name} on {data} ({steps} steps {' '.join(flags)})")
        run("train", "--data", data, "--out", name, "--model", model, "--preset", preset, "--steps", steps, "--seed", seed,
            "--test-fraction", "0.1", *flags, "--progress", "jsonl", out=f"train-{name}.jsonl")

results = {}
for name, flags in cohorts.items():
    cohort = f"cohort-{name}"
    if not os.path.exists(os.path.join(cohort, "manifest.csv")):
        say(f"synth: {name} ({' '.join(flags) or 'as trained'}), {cases} cases")
        run("synth", "--out", cohort, "--cases", cases, "--sites", "2", "--seed", "1107", "--lesion-free", "0.25",
            *(flags if "--slices" in flags else [*flags, "--slices", "16"]), out=f"synth-{name}.txt")
    for model, _, _ in runs:
        pred = f"pred-{model}-{name}"
        if not os.path.exists(f"eval-{model}-{name}.json"):
            say(f"infer {model} on {name}")
            start = time.monotonic()
            run("infer", "--model", model, "--data", cohort, "--out", pred, "--modes", "avg", "--protocol", "fast", "--subset", "all",
                "--progress", "none")
            say(f"  {time.monotonic() - start:.0f} s")
            run("eval", "--pred", os.path.join(pred, "avg"), "--ref", cohort, "--json", out=f"eval-{model}-{name}.json")
        results[f"{model}/{name}"] = summary(f"eval-{model}-{name}.json")
        json.dump(results, open("results.json", "w"), indent=1)

lines = ["| model-variant | cohort | Dice (lesion patients) | drop vs standard (negative: higher) | mean abs volume error mL | lesion-free predicted empty | mean mL on lesion-free |",
         "|---|---|---|---|---|---|---|"]
for key, r in results.items():
    model, name = key.split("/")
    base = results.get(f"{model}/standard", {}).get("dice")
    drop = f"{base - r['dice']:+.3f}" if base is not None and name != "standard" else ""
    lines.append(f"| {model} | {name} | {r['dice']:.3f} (n={r['lesion']}) | {drop} | {r['abs_err_ml']:.2f} | {r['free_empty']}/{r['free']} | {r['free_ml']:.2f} |")
open("results.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
