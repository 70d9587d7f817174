"""sdpm tune's choice rule in Python (ParetoFront in src/Sdpm.Engine.Contracts/Tuning/TuningGrid.cs), for the summary
scripts that choose again from tune's JSON: each checks it against the choice tune made before using it.
A score is tune's JSON score: {"dice", "vdp", "specificity", "passes"}."""


def dominates(a, b):
    """a at least as good as b in every objective and better in one (ParetoFront.Dominates); an objective that is None
    for either does not separate them."""
    pairs = [(a["dice"], b["dice"])]
    if a["vdp"] is not None and b["vdp"] is not None:
        pairs.append((-a["vdp"], -b["vdp"]))
    if a["specificity"] is not None and b["specificity"] is not None:
        pairs.append((a["specificity"], b["specificity"]))
    pairs.append((-a["passes"], -b["passes"]))
    return all(x >= y for x, y in pairs) and any(x > y for x, y in pairs)


def front(scores):
    return [i for i, s in enumerate(scores) if not any(dominates(o, s) for o in scores)]


def choose(scores, tolerance, floor=None):
    """ParetoFront.Choose: with a floor, only the scores reaching it (or the highest specificity reached) are candidates;
    on their front, the fewest passes within the tolerance of the best Dice."""
    candidates = list(range(len(scores)))
    if floor is not None and any(s["specificity"] is not None for s in scores):
        bar = min(floor, max(s["specificity"] for s in scores if s["specificity"] is not None))
        candidates = [i for i in candidates if scores[i]["specificity"] is None or scores[i]["specificity"] >= bar - 1e-12]
    subset = [scores[i] for i in candidates]
    f = [candidates[k] for k in front(subset)]
    best = max(scores[i]["dice"] for i in f)
    near = [i for i in f if scores[i]["dice"] >= best - tolerance]
    return sorted(near, key=lambda i: (scores[i]["passes"], -scores[i]["dice"], scores[i]["vdp"] or 0,
                                       -(scores[i]["specificity"] or 0), i))[0]
