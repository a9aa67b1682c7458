"""What the run's numbers say: every finding the report states, as a case and the numbers behind it.

Each function reads tables the stages wrote and returns plain values: a ``case`` (or
flags) that names which of the possible findings holds, with the numbers the sentence
needs. The report's template words each case; nothing here writes prose, and nothing in
the template states a finding that is not one of these cases.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .replicates import SIGNIFICANCE, welch_p_from_summaries, welch_p_value

# Two means whose two-sided Welch p-value is below SIGNIFICANCE differ beyond seed noise:
# the probability, were the means equal, of a difference at least this large either way.


def axis_position(value: float, values: Sequence[float]) -> dict:
    """Where ``value`` lies against a grid axis: ``inside`` its range, ``above`` or ``below`` it."""
    low, high = min(values), max(values)
    side = "inside" if np.isclose(value, low) or np.isclose(value, high) or low <= value <= high else (
        "above" if value > high else "below")
    return {"value": float(value), "low": float(low), "high": float(high), "side": side}


def fine_grid_origin(grid_from: str, fine_axes: tuple[Sequence[float], Sequence[float]],
                     published_axes: tuple[Sequence[float], Sequence[float]], coarse_best: Mapping) -> dict:
    """Where the fine grid came from and where the coarse search's best run lies against it.

    case: ``derived`` (from the coarse top runs), ``published`` (the configured grid is the
    original study's) or ``configured`` (another configured grid). ``outside`` lists the axes
    on which the coarse best lies outside the fine grid's range.
    """
    learning_rates, regularizations = fine_axes
    same = (len(learning_rates) == len(published_axes[0]) and len(regularizations) == len(published_axes[1])
            and np.allclose(sorted(learning_rates), sorted(published_axes[0]))
            and np.allclose(sorted(regularizations), sorted(published_axes[1])))
    case = "derived" if grid_from == "coarse" else "published" if same else "configured"
    positions = {"learning_rate": axis_position(coarse_best["learning_rate"], learning_rates),
                 "regularization": axis_position(coarse_best["regularization"], regularizations)}
    return {"case": case, "positions": positions,
            "outside": [axis for axis, position in positions.items() if position["side"] != "inside"]}


def search_protocol(train_rows: int, batch_rows: int, epochs: int) -> dict:
    """Gradient steps a search run takes: ceil(rows / batch) per epoch, times the epochs."""
    per_epoch = math.ceil(train_rows / batch_rows)
    return {"rows": int(train_rows), "batch": int(batch_rows), "steps_per_epoch": per_epoch,
            "steps": per_epoch * int(epochs), "full_batch": batch_rows >= train_rows}


def search_failures(summary: pd.DataFrame) -> dict:
    """The runs of a grid that diverged, ended below chance, or whose validation cost climbed
    (``summary``'s ``status``, ``below_chance`` and ``cost_rose``), each as a list of rows."""
    ok = summary[summary["status"] == "ok"]
    columns = ["learning_rate", "regularization", "val_accuracy", "val_cost", "epochs"]
    return {
        "diverged": summary.loc[summary["status"] != "ok", columns].to_dict("records"),
        "below_chance": ok.loc[ok["below_chance"].astype(bool), columns].to_dict("records"),
        "cost_rose": ok.loc[ok["cost_rose"].astype(bool), columns].to_dict("records"),
        "failed": int((summary["status"] != "ok").sum() + (ok["below_chance"].astype(bool) | ok["cost_rose"].astype(bool)).sum()),
    }


def momentum_order(values: Sequence[Mapping]) -> dict:
    """Which momentum values fit the subset fastest: earlier first epoch at 100% training accuracy,
    then (for those that never reach it) the lower final cost.

    ``ranked`` holds the values' rows from fastest to slowest and ``order`` their momentum
    values; ``higher_is_faster`` says
    it is the order of decreasing momentum, ``lower_is_faster`` the reverse; ``reached``
    counts the values that reach 100%.
    """
    def speed(value: Mapping) -> tuple:
        return (value["full_epoch"] if value["full_epoch"] is not None else math.inf, value["final_cost"])

    ranked = sorted(values, key=speed)
    order = [value["value"] for value in ranked]
    distinct = len({speed(value) for value in values}) == len(values)
    return {"ranked": ranked, "order": order, "reached": sum(value["full_epoch"] is not None for value in values),
            "higher_is_faster": distinct and len(values) > 1 and order == sorted(order, reverse=True),
            "lower_is_faster": distinct and len(values) > 1 and order == sorted(order)}


def _direction(row: Mapping, chosen: Mapping) -> dict:
    """A configuration against the chosen one: the difference of means and its two-sided Welch p-value
    (``significant``: below SIGNIFICANCE), the value the tables' ``welch_p_two_sided`` column holds."""
    p = welch_p_from_summaries(row, chosen)
    return {"difference": float(row["mean"] - chosen["mean"]), "p": p, "significant": bool(p < SIGNIFICANCE)}


def compare_configurations(summary: pd.DataFrame, chosen_index: int = 0) -> dict:
    """Replicates of several configurations against the chosen one (row ``chosen_index``).

    ``rows`` carry ``difference`` (mean minus the chosen one's mean) and ``p`` (its two-sided
    Welch test). case: ``single_configuration``
    (nothing else to compare with; a configuration whose every seed diverged is left out,
    in ``unusable``), ``single_seed`` (no spread to judge by), ``confirmed`` (the chosen one's mean is the
    highest, beyond noise against every other), ``not_confirmed`` (highest, but within
    noise against ``close``) or ``other_better`` (``better`` lists every configuration
    with a higher mean; ``beyond_noise`` those beyond noise). ``beaten`` lists the
    configurations whose lower mean is beyond noise (none in the first two cases), so that
    every difference beyond noise, either way, is named.
    """
    rows = summary.to_dict("records")
    chosen = rows[chosen_index]
    for index, row in enumerate(rows):
        row.update({"difference": float("nan"), "p": float("nan"), "significant": False} if index == chosen_index or row["n"] == 0
                   else _direction(row, chosen))
        row["chosen"] = index == chosen_index
    others = [row for index, row in enumerate(rows) if index != chosen_index and row["n"] > 0]
    context = {"rows": rows, "chosen": chosen, "replicates": int(chosen["n"]), "significance": SIGNIFICANCE, "beaten": [],
               "unusable": [row for index, row in enumerate(rows) if index != chosen_index and row["n"] == 0]}
    if not others:
        return {**context, "case": "single_configuration"}
    if int(chosen["n"]) < 2 or any(int(row["n"]) < 2 for row in others):
        return {**context, "case": "single_seed"}
    better = sorted((row for row in others if row["difference"] > 0), key=lambda row: -row["difference"])
    beaten = [row for row in others if row["difference"] <= 0 and row["significant"]]
    if better:
        return {**context, "case": "other_better", "better": better,
                "beyond_noise": [row for row in better if row["significant"]], "beaten": beaten}
    close = [row for row in others if not row["significant"]]
    return {**context, "case": "not_confirmed" if close else "confirmed", "close": close, "beaten": beaten}


def winners_curse(summary: pd.DataFrame) -> dict:
    """The search's single scores against the same configurations' fresh-seed replicates.

    For the chosen configuration (row 0): ``case`` ``above_all`` (its search score beats
    every replicate), ``above_mean`` (beats their mean, not every one) or ``none``; and how
    many of all the configurations scored above their own replicates' mean in the search.
    """
    chosen = summary.iloc[0]
    score, mean, top = float(chosen["search_val_accuracy"]), float(chosen["mean"]), float(chosen["max"])
    case = "no_runs" if int(chosen["n"]) == 0 else "above_all" if score > top else "above_mean" if score > mean else "none"
    above = summary["search_val_accuracy"] > summary["mean"]
    return {"case": case, "score": score, "mean": mean, "max": top, "n": int(chosen["n"]),
            "excess": score - mean, "above_mean": int(above.sum()), "configurations": len(summary),
            "mean_excess": float((summary["search_val_accuracy"] - summary["mean"]).mean())}


def _same(a: Mapping, b: Mapping) -> bool:
    return bool(np.isclose(a["learning_rate"], b["learning_rate"]) and np.isclose(a["regularization"], b["regularization"]))


def transfer_findings(summary: pd.DataFrame, published_final: Mapping) -> dict:
    """The full-scale trainings against the search: does the chosen configuration stay best, where does
    the published one stand, and does the full-scale order follow the search's?

    ``comparison`` is ``compare_configurations`` with the chosen one (search rank 1) as
    reference; ``published`` the published final configuration's row (None if it was not
    trained) with its test against the chosen one; ``search_order`` and ``full_order`` the
    search ranks of the searched configurations in search order and by full-scale mean;
    ``order_tied``: some of them have equal means, so ``order_kept`` cannot hold. ``swapped``:
    each pair of searched configurations the full scale puts the other way round (search ranks
    ``above`` and ``below``, the difference of their means, the two-sided Welch ``p`` and
    ``beyond_noise``); ``swapped_beyond_noise`` those beyond seed noise.
    """
    summary = summary.reset_index(drop=True)
    chosen_index = int(summary.index[summary["search_rank"] == 1][0])
    comparison = compare_configurations(summary, chosen_index)
    rows = comparison["rows"]
    scored = [row for row in rows if row["n"] > 0]  # a configuration whose every seed diverged has no mean
    best = max(scored, key=lambda row: row["mean"]) if scored else comparison["chosen"]
    published = next((row for row in rows if _same(row, published_final)), None)
    for row in rows:
        row["published"] = row is published
    searched = [row for row in scored if not row["added"]]
    search_order = [int(row["search_rank"]) for row in sorted(searched, key=lambda row: row["search_rank"])]
    full_order = [int(row["search_rank"]) for row in sorted(searched, key=lambda row: -row["mean"])]
    # equal held-out means have no order to keep or break
    tied = len({row["mean"] for row in searched}) < len(searched)
    by_search = sorted(searched, key=lambda row: row["search_rank"])
    swapped = []  # pairs the full scale puts the other way round, with the Welch test of the pair
    for index, higher in enumerate(by_search):
        for lower in by_search[index + 1:]:
            if lower["mean"] > higher["mean"]:
                p = welch_p_from_summaries(lower, higher)
                swapped.append({"above": int(lower["search_rank"]), "below": int(higher["search_rank"]),
                                "difference": lower["mean"] - higher["mean"], "p": p, "beyond_noise": bool(p < SIGNIFICANCE)})
    return {**comparison, "best": best, "chosen_is_best": best["run_id"] == comparison["chosen"]["run_id"],
            "published": published, "published_is_chosen": published is not None and published["chosen"],
            "published_rank": None if published is None or published["n"] == 0 else int(published["full_rank"]),
            "order_tied": tied, "order_kept": not tied and search_order == full_order,
            "search_order": search_order, "full_order": full_order, "swapped": swapped,
            "swapped_beyond_noise": [pair for pair in swapped if pair["beyond_noise"]],
            "configurations": len(rows)}


def regularization_effect(runs: pd.DataFrame, transfer: Mapping) -> dict | None:
    """The training accuracy at full scale of the chosen configuration and of the published one, which the
    transfer stage trained side by side on the same batches (``transfer`` is ``transfer_findings``).

    None unless both were trained, differ, and have runs that did not diverge. ``same_learning_rate``:
    λ is their only difference, so the gap is λ's effect, measured. ``difference``: the chosen one's
    mean minus the published one's. ``p``: the two-sided Welch test.
    """
    chosen, published = transfer["chosen"], transfer["published"]
    if published is None or published["chosen"]:
        return None
    ok = runs[runs["status"] == "ok"]
    ours, theirs = (ok.loc[ok["run_id"] == row["run_id"], "train_accuracy"].to_numpy() for row in (chosen, published))
    if not len(ours) or not len(theirs):
        return None
    return {"chosen": float(ours.mean()), "published": float(theirs.mean()), "difference": float(ours.mean() - theirs.mean()),
            "p": welch_p_value(theirs, ours) if min(len(ours), len(theirs)) > 1 else float("nan"), "n": int(min(len(ours), len(theirs))),
            "same_learning_rate": bool(np.isclose(chosen["learning_rate"], published["learning_rate"]))}


def confusion_findings(matrix: pd.DataFrame, pairs: int = 3) -> dict:
    """The most frequent confusions of a confusion matrix (true classes in rows, predicted in columns,
    both labelled by class name): the ``pairs`` largest off-diagonal cells, each with its share of the
    true class, and the pair of classes most often mistaken for each other either way."""
    counts = matrix.to_numpy(dtype=np.int64)
    names = list(matrix.columns)
    totals = counts.sum(axis=1)
    off = counts.copy()
    np.fill_diagonal(off, -1)
    flat = np.argsort(-off, axis=None, kind="stable")[:pairs]
    directed = [{"true": names[i], "predicted": names[j], "count": int(counts[i, j]),
                 "share": float(counts[i, j] / totals[i]) if totals[i] else float("nan")}
                for i, j in zip(*np.unravel_index(flat, counts.shape)) if counts[i, j] > 0]
    both = np.triu(counts + counts.T, 1)  # each unordered pair once, above the diagonal
    i, j = np.unravel_index(int(np.argmax(both)), both.shape)
    mutual = {"a": names[i], "b": names[j], "count": int(both[i, j])} if both[i, j] > 0 else None
    wrong = int(counts.sum() - np.trace(counts))
    return {"directed": directed, "mutual": mutual,
            "errors": wrong, "images": int(counts.sum()),
            "top_share_of_errors": float(sum(row["count"] for row in directed) / wrong) if wrong else float("nan")}


def gradient_magnitudes(magnitudes: pd.DataFrame, sums: pd.DataFrame, published_mean: Mapping,
                        published_sum: Mapping) -> dict:
    """The published gradient check's sizes beside the two set-ups the check runs.

    ``magnitudes``: rows of ``setup``, ``network``, ``parameter``, ``draw`` and
    ``mean_abs_analytic`` (draw 0 is the tabled network); ``sums``: rows of ``setup``,
    ``network``, ``parameter`` and ``sum_abs_diff``; ``published_mean`` and ``published_sum``:
    ``{network: {parameter: value}}``.

    ``rows``, one per published matrix both set-ups checked: the published mean and sum of
    absolute differences, and in ``starts``, for each set-up, its draw-0 value, the range and median over
    the draws, ``inside`` (the published mean lies within that range), ``ratio`` (median over
    published), its sum and ``sum_ratio``. ``setups``: per set-up, how many matrices hold the
    published mean within their range and the smallest and largest ratios. ``published_closer``:
    in how many matrices the ``published`` set-up's median is nearer the published mean (as a
    ratio) than the ``study`` set-up's; ``published_sum_closer``: the same for the sums.
    """
    setups = list(dict.fromkeys(magnitudes["setup"]))
    rows = []
    for network, parameters in published_mean.items():
        for parameter, value in parameters.items():
            row = {"network": network, "parameter": parameter, "published": float(value),
                   "published_sum": float(published_sum.get(network, {}).get(parameter, float("nan"))), "starts": {}}
            for setup in setups:
                draws = magnitudes[(magnitudes["setup"] == setup) & (magnitudes["network"] == network)
                                   & (magnitudes["parameter"] == parameter)].sort_values("draw")
                checked = sums[(sums["setup"] == setup) & (sums["network"] == network) & (sums["parameter"] == parameter)]
                if draws.empty or checked.empty:
                    break
                values = draws["mean_abs_analytic"].to_numpy(dtype=float)
                total = float(checked["sum_abs_diff"].iloc[0])
                row["starts"][setup] = {"tabled": float(values[0]), "low": float(values.min()), "high": float(values.max()),
                              "median": float(np.median(values)), "draws": len(values),
                              "inside": bool(values.min() <= value <= values.max()),
                              "ratio": float(np.median(values)) / float(value),
                              "sum": total, "sum_ratio": total / row["published_sum"]}
            else:
                rows.append(row)
    summary = {}
    for setup in setups:
        starts = [row["starts"][setup] for row in rows]
        ratios = [start["ratio"] for start in starts]
        sum_ratios = [start["sum_ratio"] for start in starts if np.isfinite(start["sum_ratio"])]
        summary[setup] = {"inside": sum(start["inside"] for start in starts), "matrices": len(rows),
                          "smallest_ratio": min(ratios, default=float("nan")), "largest_ratio": max(ratios, default=float("nan")),
                          "smallest_sum_ratio": min(sum_ratios, default=float("nan")),
                          "largest_sum_ratio": max(sum_ratios, default=float("nan")),
                          "draws": int(magnitudes.loc[magnitudes["setup"] == setup, "draw"].nunique())}
    def nearer(key: str) -> int:
        """Matrices where the published set-up's ``key`` ratio is nearer 1 than the study set-up's."""
        if not {"published", "study"} <= set(setups):
            return 0
        return int(sum(abs(np.log(row["starts"]["published"][key])) < abs(np.log(row["starts"]["study"][key]))
                       for row in rows if np.isfinite(row["starts"]["published"][key])))

    return {"rows": rows, "setups": summary, "published_closer": nearer("ratio"), "published_sum_closer": nearer("sum_ratio")}


def mean_job_seconds(stages: Sequence[Mapping], groups: Mapping[str, Sequence[str]]) -> dict:
    """The mean wall seconds of one job of each group of rules, from the report's stage table (rows of rule, jobs, total_s)."""
    by_rule = {row["rule"]: row for row in stages}
    result = {}
    for name, rules in groups.items():
        rows = [by_rule[rule] for rule in rules if rule in by_rule]
        jobs = sum(row["jobs"] for row in rows)
        result[name] = sum(row["total_s"] for row in rows) / jobs if jobs else float("nan")
    return result
