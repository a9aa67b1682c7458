"""Statistics over seed replicates: spread, a t interval for the mean, and what they say.

A replicate is the same configuration trained again with another seed. Its spread is the
noise against which a difference (from a published value, or between two configurations)
must be judged; the functions here turn the replicates' numbers into that judgement.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
SIGNIFICANCE = 0.05  # two-sided Welch test: two means differ "beyond seed noise" below this p-value
P_COLUMN = "welch_p_two_sided"  # the name of that p-value in every table the workflow writes


def describe(values: Sequence[float], confidence: float = CONFIDENCE) -> dict:
    """n, mean, standard deviation (n - 1), min, max and the t interval for the mean of ``values``.

    With one value the standard deviation and the interval are NaN: one run has no spread.
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        raise ValueError("describe() needs at least one value.")
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if n > 1 else float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * std / np.sqrt(n)) if n > 1 else float("nan")
    return {
        "n": n,
        "mean": mean,
        "std": std,
        "min": float(values.min()),
        "max": float(values.max()),
        "ci_low": mean - half,
        "ci_high": mean + half,
        "confidence": confidence,
    }


def locate(value: float, summary: dict) -> dict:
    """Where ``value`` falls against a ``describe`` summary: inside the range, inside the interval.

    ``standard_deviations`` is (value - mean) / std, NaN with a single replicate.
    """
    in_range = summary["min"] <= value <= summary["max"]
    in_interval = bool(summary["n"] > 1 and summary["ci_low"] <= value <= summary["ci_high"])
    std = summary["std"]
    return {
        "value": float(value),
        "in_range": bool(in_range),
        "in_interval": in_interval,
        "difference": float(summary["mean"] - value),
        "standard_deviations": float((value - summary["mean"]) / std) if summary["n"] > 1 and std > 0 else float("nan"),
    }


def interval_fits(summary: dict, low: float = 0.0, high: float = float("inf")) -> bool:
    """Whether the t interval lies within the values the quantity can take ([0, 1] for an accuracy).

    With few replicates the interval can reach past them (with 2, the t quantile is 12.7):
    it then bounds nothing and is not stated as a range.
    """
    return bool(summary["n"] > 1 and low <= summary["ci_low"] and summary["ci_high"] <= high)


def placement(location: dict, summary: dict, low: float = 0.0, high: float = 1.0) -> dict:
    """Which case of "where does the published value fall" the numbers are; the template words it.

    case: ``single`` (one replicate, no spread), ``too_wide`` (the t interval reaches past
    ``low``/``high``, the bounds of the quantity, so only the range is used), ``in_interval``,
    ``in_range`` (outside the interval, inside the range) or ``outside`` (outside both).
    side: where the value lies against the mean (single) or the interval: above, below or at.
    """
    if summary["n"] == 1:
        value, mean = location["value"], summary["mean"]
        return {"case": "single", "side": "above" if value > mean else "below" if value < mean else "at"}
    if not interval_fits(summary, low, high):
        return {"case": "too_wide", "side": None}
    if location["in_interval"]:
        return {"case": "in_interval", "side": None}
    side = "above" if location["value"] > summary["ci_high"] else "below"
    return {"case": "in_range" if location["in_range"] else "outside", "side": side}


def welch_p_value(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Welch t-test p-value of "the means of a and b are equal": the probability, were they
    equal, of a difference at least as large either way. NaN when undefined (n < 2 or no spread)."""
    return welch_p_from_summaries(describe(a), describe(b))


def welch_p_from_summaries(a: dict, b: dict) -> float:
    """The same test from two ``describe`` summaries (n, mean, std)."""
    if a["n"] < 2 or b["n"] < 2 or (a["std"] == 0 and b["std"] == 0):
        return float("nan")
    return float(stats.ttest_ind_from_stats(a["mean"], a["std"], a["n"], b["mean"], b["std"], b["n"],
                                            equal_var=False, alternative="two-sided").pvalue)


def compare_with_first(groups: Sequence[Sequence[float]]) -> list[dict]:
    """``describe`` of each group of values (all NaN for an empty one), with ``difference`` (its mean minus
    the first group's), ``P_COLUMN`` (the two-sided Welch p-value against the first group; NaN for the
    first itself) and ``beyond_noise`` (that p-value is below ``SIGNIFICANCE``)."""
    empty = {"n": 0, "mean": float("nan"), "std": float("nan"), "min": float("nan"), "max": float("nan"),
             "ci_low": float("nan"), "ci_high": float("nan"), "confidence": CONFIDENCE}
    described = [describe(values) if len(values) else dict(empty) for values in groups]
    rows = []
    for index, stats_ in enumerate(described):
        p = float("nan") if index == 0 else welch_p_from_summaries(stats_, described[0])
        difference = float("nan") if index == 0 else stats_["mean"] - described[0]["mean"]
        rows.append({**stats_, "difference": difference, P_COLUMN: p, "beyond_noise": bool(p < SIGNIFICANCE)})
    return rows
