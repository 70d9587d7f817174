"""Statistics the summary scripts share."""
import random
import statistics


def boot_ci(values, resamples=2000, seed=20240601):
    """Percentile bootstrap 95% CI of the mean; (None, None) for fewer than two values."""
    if len(values) < 2:
        return None, None
    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choices(values, k=len(values))) for _ in range(resamples))
    return means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1]
