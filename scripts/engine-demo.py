#!/usr/bin/env python3
"""The engine demo (README, "Engine demo"), driven through ./sdpm as a user would run it.

A seeded synthetic cohort; for each training seed: SDPM, sdpm-no-noise and the U-Net trained with the same number of
steps (and, with SDPM_DEMO_BUDGET=both, a U-Net given SDPM's wall-clock time), each tuned by `sdpm tune` on the run's
validation patients, then scored once on the held-out test patients with the chosen settings.
scripts/engine-demo-summary.py WORK_DIR remakes the table from the files this leaves.

Usage: scripts/engine-demo.sh [WORK_DIR]   (default artifacts/engine-demo)
Environment (defaults in brackets): SDPM_DEMO_CASES [100], SDPM_DEMO_SEEDS ["7 8"], SDPM_DEMO_STEPS [700],
SDPM_DEMO_PRESET [small], SDPM_DEMO_SIZE [128], SDPM_DEMO_SLICES [16], SDPM_DEMO_TEST_FRACTION [0.3],
SDPM_DEMO_VALIDATION_FRACTION [0.15], SDPM_DEMO_TUNE [post|quick|full|none: post], SDPM_DEMO_BUDGET [steps|both: both],
SDPM_DEMO_MODELS ["sdpm sdpm-no-noise unet"] (a subset trains only those; the U-Net at SDPM's time needs both).
SDPM_DEMO_TUNE=post (the default) chooses the threshold, minimum component and removal on the fast protocol's maps, one
fast inference of the validation patients per run; quick and full also sweep Ti, N, d, nu and eta (quick: about five
times the post grid's network passes for SDPM, as tune computes them: 415 against 81 a slice).
SDPM_DEMO_LESION_FREE_TUNING [0]: that many lesion-free heads of the demo's grid (`sdpm synth --lesion-free 1`, seed 5151,
apart from the split and from scripts/false-positive-candidates.py's diagnosis heads, seed 4242) are scored beside the
validation patients while tuning (`sdpm tune --lesion-free`): specificity then counts 1 + that many lesion-free cases a
seed, and with 5 or more the chosen settings must reach tune's required specificity. 0 tunes as the README's table was made.
SDPM_DEMO_VARIATION [standard|wide: standard]: the generator of the cohort and of the tuning heads (`sdpm synth
--variation`; wide draws its own matrices, so SDPM_DEMO_SIZE is not used). SDPM_DEMO_TRAIN_FLAGS [""]: further
`sdpm train` flags for every model, e.g. "--field-mm 240" (the robustness study's choice for wide cohorts).
The settings are written to WORK_DIR/settings.json before anything runs; a folder holding a demo of other settings (any
but the seeds and models, which a later run may add to) is refused, so a resumed demo never mixes two cohorts or recipes.
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

from sdpm_session import ROOT as root, Session

work = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "artifacts", "engine-demo"))
env = os.environ.get
cases = int(env("SDPM_DEMO_CASES", "100"))
seeds = env("SDPM_DEMO_SEEDS", "7 8").split()
steps = int(env("SDPM_DEMO_STEPS", "700"))
preset = env("SDPM_DEMO_PRESET", "small")
size, slices = env("SDPM_DEMO_SIZE", "128"), env("SDPM_DEMO_SLICES", "16")
test_fraction, validation_fraction = env("SDPM_DEMO_TEST_FRACTION", "0.3"), env("SDPM_DEMO_VALIDATION_FRACTION", "0.15")
tune = env("SDPM_DEMO_TUNE", "post")
budget = env("SDPM_DEMO_BUDGET", "both")
models = env("SDPM_DEMO_MODELS", "sdpm sdpm-no-noise unet").split()
lesion_free_tuning = int(env("SDPM_DEMO_LESION_FREE_TUNING", "0"))
variation = env("SDPM_DEMO_VARIATION", "standard")
train_flags = shlex.split(env("SDPM_DEMO_TRAIN_FLAGS", ""))
if variation not in ("standard", "wide"):
    sys.exit(f"SDPM_DEMO_VARIATION must be standard or wide; got {variation}")
if not models or any(m not in ("sdpm", "sdpm-no-noise", "unet") for m in models):
    sys.exit(f"SDPM_DEMO_MODELS must name some of sdpm, sdpm-no-noise, unet; got {' '.join(models) or 'none'}")
session = Session(work, "demo.log")
say, run = session.say, session.run

# What defines the demo's cohort, recipe and scoring; seeds and models may be added to a folder later.
settings = {"cases": cases, "steps": steps, "preset": preset, "size": size, "slices": slices,
            "test_fraction": test_fraction, "validation_fraction": validation_fraction, "tune": tune, "budget": budget,
            "lesion_free_tuning": lesion_free_tuning, "variation": variation, "train_flags": train_flags}
if os.path.exists("settings.json"):
    held = json.load(open("settings.json"))
    # Folders of earlier demos have no variation or train flags: theirs were the defaults.
    held.setdefault("variation", "standard")
    held.setdefault("train_flags", [])
    differ = [k for k in settings if k in held and held[k] != settings[k]]
    if differ:
        sys.exit(f"{work} holds a demo of other settings ({', '.join(f'{k}: {held[k]} there, {settings[k]} now' for k in differ)}); "
                 "use another WORK_DIR or the same settings")
    seeds_all = held.get("seeds", []) + [x for x in seeds if x not in held.get("seeds", [])]
    models_all = held.get("models", []) + [m for m in models if m not in held.get("models", [])]
else:
    seeds_all, models_all = seeds, models
settings.update({"seeds": seeds_all, "models": models_all, "cores": os.cpu_count()})
json.dump(settings, open("settings.json", "w"), indent=1)
cohort_flags = ["--variation", "wide", "--slices", slices] if variation == "wide" else ["--size", size, "--slices", slices]


def train(model, seed, name, n_steps):
    """Trains a run, or keeps one this folder already holds with the same steps (the demo resumes where it stopped).
    Returns the training time in seconds as the engine measured it (run.json), for kept and new runs alike."""
    done = os.path.join(name, "run.json")
    kept = json.load(open(done)) if os.path.exists(done) else {}
    if kept.get("steps") == n_steps:
        say(f"keep {name}: trained before ({n_steps} steps)")
        return kept["seconds"]
    if os.path.isdir(name):
        # A training stopped before its end leaves a checkpoint and no run.json; `sdpm train` refuses to overwrite it. It
        # is trained again from the start rather than resumed, so that run.json's seconds time the whole training.
        held = f"a finished run of {kept['steps']} steps" if kept else "an unfinished run"
        say(f"{name} holds {held}: trained again from the start ({n_steps} steps)")
        shutil.rmtree(name)
    run("train", "--data", "cohort", "--out", name, "--model", model, "--preset", preset, "--steps", str(n_steps), "--seed", seed,
        "--test-fraction", test_fraction, "--validation-fraction", validation_fraction, *train_flags, "--progress", "jsonl",
        out=f"train-{name}.jsonl")
    return json.load(open(done))["seconds"]


def modes_of(model):
    return ["avg", "sal", "infer", "all"] if model == "sdpm" else ["avg"]


def tune_and_score(name, model):
    """Chooses each mode's settings on the run's validation patients with `sdpm tune`, which then scores the chosen
    settings once on the test patients (--score-test: the maps of one network setting are computed once per case and
    shared by the modes, where one `sdpm infer` per mode would compute them again). With SDPM_DEMO_TUNE=none: one
    `sdpm infer` of every mode with the fast protocol's settings, scored by `sdpm eval`. Returns the wall seconds, or None
    when the tuning was kept from an earlier run of the demo (its seconds are in times.json)."""
    modes = modes_of(model)
    start = time.monotonic()
    if tune != "none":
        out = f"tune-{name}.json"
        kept = json.load(open(out)) if os.path.exists(out) and os.path.getsize(out) > 0 else {}
        if kept.get("grid") == tune and kept.get("lesion_free_heads", 0) == lesion_free_tuning and all(m["held_out_test"] for m in kept["modes"]):
            say(f"keep {out}: tuned and scored before")
            start = None
        else:
            say(f"tune {name} on its validation patients ({tune} grid), then score the chosen settings once on the test patients")
            # The checkpoint keeps each validation case's scores: a stopped demo's tuning goes on from the next case.
            heads = ["--lesion-free", "tuning-heads"] if lesion_free_tuning > 0 else []
            run("tune", "--model", name, "--data", "cohort", "--modes", ",".join(modes), "--grid", tune, "--score-test", "--json",
                "--out", f"tune-{name}.md", "--checkpoint", f"tune-{name}.cases.jsonl", "--progress", "jsonl", *heads, out=out)
            kept = json.load(open(out))
        for m in kept["modes"]:
            say(f"{name} {m['mode']}: {m['chosen']['row']['configuration']} (validation Dice {m['chosen']['row']['score']['dice']:.3f})")
            # The held-out cases as `sdpm eval --json` lists them; the summary computes every statistic from them.
            json.dump({"cases": m["held_out_test"]["cases"]}, open(f"eval-{name}-{m['mode']}.json", "w"), indent=1)
    else:
        say(f"infer {name} {','.join(modes)} on the test patients (fast protocol)")
        pred = f"pred-{name}"
        run("infer", "--model", name, "--data", "cohort", "--out", pred, "--modes", ",".join(modes), "--protocol", "fast",
            "--subset", "test", "--progress", "jsonl", out=f"infer-{name}.jsonl")
        for mode in modes:
            run("eval", "--pred", os.path.join(pred, mode), "--ref", "cohort", "--json", out=f"eval-{name}-{mode}.json")
    return None if start is None else time.monotonic() - start


run("--help")  # builds the CLI before anything is timed
if not os.path.exists("cohort/manifest.csv"):
    say(f"synth: {cases} cases")
    run("synth", "--out", "cohort", "--cases", str(cases), "--sites", "4", "--seed", "7", "--lesion", "mixed", *cohort_flags,
        out="synth.txt")
if lesion_free_tuning > 0 and not os.path.exists("tuning-heads/manifest.csv"):
    say(f"synth: {lesion_free_tuning} lesion-free heads for tuning (seed 5151)")
    run("synth", "--out", "tuning-heads", "--cases", str(lesion_free_tuning), "--sites", "2", "--seed", "5151", "--lesion", "mixed",
        "--lesion-free", "1", *cohort_flags, out="synth-tuning-heads.txt")
# Runs of an earlier start of this demo keep their times (a kept tuning is not timed again).
held_times = json.load(open("times.json")) if os.path.exists("times.json") else {}
times = dict(held_times)


def tuned_seconds(name, seconds):
    return seconds if seconds is not None else (held_times.get(name) or [None] * 5)[4]


for seed in seeds:
    for model in models:
        name = f"{model}-s{seed}"
        say(f"train {name} ({steps} steps)")
        trained = train(model, seed, name, steps)
        times[name] = [model, seed, steps, trained, tuned_seconds(name, tune_and_score(name, model))]
    if budget == "both" and "sdpm" in models and "unet" in models:
        # The U-Net at SDPM's training wall-clock time: its own seconds per step, measured in the run above.
        per_step = times[f"unet-s{seed}"][3] / steps
        eq_steps = max(1, round(times[f"sdpm-s{seed}"][3] / per_step))
        name = f"unet-time-s{seed}"
        say(f"train {name} ({eq_steps} steps: SDPM's {times[f'sdpm-s{seed}'][3]:.0f} s at {per_step:.2f} s a step)")
        trained = train("unet", seed, name, eq_steps)
        times[name] = ["unet-time", seed, eq_steps, trained, tuned_seconds(name, tune_and_score(name, "unet"))]
    json.dump(times, open("times.json", "w"), indent=1)
say("done")
subprocess.check_call([sys.executable, os.path.join(root, "scripts", "engine-demo-summary.py"), work], stdout=open("results.md", "w"))
print(open("results.md").read())
