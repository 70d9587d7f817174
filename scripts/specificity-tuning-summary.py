#!/usr/bin/env python3
"""Sampling settings chosen with and without lesion-free heads (issue 12: specificity in the choice of defaults), from
an engine demo run with SDPM_DEMO_LESION_FREE_TUNING=N: WORK_DIR/tune-sdpm-s*.json.

Per seed and mode: the configuration `sdpm tune` chose with the heads (their specificity required, tune's rule), and
the one it chose from the validation patients alone (`chosen_without_heads`: what a tuning without --lesion-free
chooses), each with its validation Dice, its lesion-free heads left empty and their mean false-positive
volume, and both choices' held-out test scores (tune's --score-test scores each once, after choosing). This script's
copy of the rule (scripts/tune_rule.py) is checked against both of tune's choices first.

Usage: scripts/specificity-tuning-summary.py WORK_DIR [MODEL]
"""
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tune_rule  # noqa: E402

work = sys.argv[1] if len(sys.argv) > 1 else "artifacts/specificity-tuning"
model = sys.argv[2] if len(sys.argv) > 2 else "sdpm"
files = [f for f in sorted(glob.glob(os.path.join(work, f"tune-{model}-s*.json")))
         if re.fullmatch(rf"tune-{re.escape(model)}-s\d+\.json", os.path.basename(f))]
if not files:
    sys.exit(f"no tune-{model}-s*.json in {work}: run the engine demo with SDPM_DEMO_LESION_FREE_TUNING=10 there first")


def f3(v):
    return "n/a" if v is None else f"{v:.3f}"


def heads(row):
    """(heads left empty, heads, mean mL predicted on them)."""
    vols = [h["vol_pred_ml"] for h in row["lesion_free_heads"]]
    return sum(1 for v in vols if v <= 0), len(vols), (sum(vols) / len(vols) if vols else None)


def test_free(held):
    cases = held["cases"]
    free = [c for c in cases if c["vol_ref_ml"] <= 0]
    return sum(1 for c in free if c["vol_pred_ml"] <= 0), len(free)


print(f"# Sampling settings chosen with and without lesion-free heads: {model}")
print()
print("| seed | mode | tuned with | chosen | validation Dice | VDP | heads left empty | FP mL a head | test Dice | test lesion-free left empty |")
print("|---|---|---|---|---|---|---|---|---|---|")
for path in files:
    run = json.load(open(path))
    seed = re.search(r"-s(\d+)\.json$", path).group(1)
    tol, floor = run["dice_tolerance"], run.get("specificity_floor")
    for m in run["modes"]:
        rows = m["rows"]
        theirs = m["chosen"]["row"]["configuration"]
        mine = rows[tune_rule.choose([r["score"] for r in rows], tol, floor)]["configuration"]
        if mine != theirs:
            sys.exit(f"seed {seed}, {m['mode']}: this script chose '{mine}', sdpm tune '{theirs}': the rules differ")
        without = m["chosen_without_heads"]
        alone_floor = None if run["lesion_free_validation"] < 5 else floor  # tune's ParetoFront.Floor on the validation cases
        if rows[tune_rule.choose([r["validation_score"] for r in rows], tol, alone_floor)]["configuration"] != without["row"]["configuration"]:
            sys.exit(f"seed {seed}, {m['mode']}: the rule without the heads differs from sdpm tune's chosen_without_heads")
        alone = next(r for r in rows if r["configuration"] == without["row"]["configuration"])
        chosen = next(r for r in rows if r["configuration"] == theirs)
        with_heads = f"{run['lesion_free_heads']} heads" + (f", specificity >= {floor}" if floor is not None else "")
        for label, row in [(with_heads, chosen), ("validation alone", alone)]:
            empty, n, ml = heads(row)
            s = row["validation_score"]
            # tune scored both rows once on test, after choosing (--score-test)
            held = m["held_out_test"] if row is chosen else without["held_out_test"]
            if held:
                te, tn = test_free(held)
                test_cols = f"{f3(held['score']['dice'])} | {te} of {tn}"
            else:
                test_cols = "not scored | not scored"
            print(f"| {seed} | {m['mode']} | {label} | {row['configuration']} | {f3(s['dice'])} | {f3(s['vdp'])} | "
                  f"{empty} of {n} | {f3(ml)} | {test_cols} |")
