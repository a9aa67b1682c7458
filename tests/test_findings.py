"""Every finding the report states, driven both ways from small tables written here."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from twolayer import findings
from twolayer.replicates import describe


def _replicates(means, std=0.004, n=5, search=None, extra=None):
    """A table of configurations over seeds, as replicate_selection and summarize_transfer write it."""
    rows = []
    for index, mean in enumerate(means):
        rows.append({"rank": index + 1, "run_id": f"lr0.{index + 1}_reg0.001", "learning_rate": (index + 1) / 10,
                     "regularization": 0.001, "search_val_accuracy": (search or [0.5] * len(means))[index], "n": n,
                     "mean": mean, "std": std, "min": mean - std, "max": mean + std, **(extra or {})})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "grid_from, axes, best, case, outside",
    [
        ("config", ([0.35, 0.25], [0.005, 0.0005]), (0.5, 0.01), "published", ["learning_rate", "regularization"]),
        ("config", ([0.35, 0.25], [0.005, 0.0005]), (0.3, 0.002), "published", []),
        ("config", ([0.6, 0.4], [0.005, 0.0005]), (0.5, 0.01), "configured", ["regularization"]),
        ("coarse", ([0.6, 0.4], [0.02, 0.0005]), (0.5, 0.01), "derived", []),
        ("config", ([0.35, 0.25], [0.005, 0.001]), (0.1, 0.0005), "configured", ["learning_rate", "regularization"]),
    ],
)
def test_the_fine_grid_says_where_it_came_from_and_where_the_coarse_best_lies(grid_from, axes, best, case, outside):
    origin = findings.fine_grid_origin(grid_from, axes, ([0.35, 0.25], [0.005, 0.0005]),
                                       {"learning_rate": best[0], "regularization": best[1]})
    assert origin["case"] == case and origin["outside"] == outside
    if "learning_rate" in outside:
        assert origin["positions"]["learning_rate"]["side"] == ("above" if best[0] > max(axes[0]) else "below")


def test_a_search_protocol_counts_the_gradient_steps():
    assert findings.search_protocol(10000, 10000, 5) == {"rows": 10000, "batch": 10000, "steps_per_epoch": 1, "steps": 5,
                                                         "full_batch": True}
    assert findings.search_protocol(50000, 10000, 50)["steps"] == 250
    assert findings.search_protocol(10001, 100, 2) == {"rows": 10001, "batch": 100, "steps_per_epoch": 101, "steps": 202,
                                                       "full_batch": False}


def test_failed_search_runs_are_listed_by_kind():
    summary = pd.DataFrame({
        "learning_rate": [0.5, 0.3, 0.1, 0.01], "regularization": [0.3, 0.3, 0.01, 0.5], "epochs": [5, 5, 3, 5],
        "val_accuracy": [0.04, 0.21, np.nan, 0.35], "val_cost": [13.3, 10.5, np.nan, 1.9],
        "status": ["ok", "ok", "diverged", "ok"], "below_chance": [True, False, False, False],
        "cost_rose": [True, True, False, False],
    })
    failed = findings.search_failures(summary)
    assert [row["learning_rate"] for row in failed["below_chance"]] == [0.5]
    assert [row["learning_rate"] for row in failed["cost_rose"]] == [0.5, 0.3]
    assert [row["learning_rate"] for row in failed["diverged"]] == [0.1]
    assert failed["failed"] == 3
    healthy = summary.iloc[[3]]
    assert findings.search_failures(healthy)["failed"] == 0


def test_the_search_flags_below_chance_and_climbing_cost_from_the_histories():
    from twolayer.search import summarize

    rising = pd.DataFrame({"epoch": [1, 2, 3], "train_cost": [3.0, 2.5, 9.0], "train_accuracy": [0.2, 0.25, 0.05],
                           "val_cost": [3.0, 2.5, 9.0], "val_accuracy": [0.2, 0.25, 0.05]})
    healthy = rising.assign(val_cost=[3.0, 2.5, 2.4], val_accuracy=[0.2, 0.25, 0.3], train_cost=[3.0, 2.5, 2.4])
    slight = healthy.assign(val_cost=[3.0, 2.5, 2.6])  # 4% above its low: noise, not a climb
    points = [{"run_id": f"r{i}", "learning_rate": 0.1, "regularization": 0.0} for i in range(3)]
    summary = summarize(points, [rising, healthy, slight])
    assert summary["below_chance"].tolist() == [True, False, False]
    assert summary["cost_rose"].tolist() == [True, False, False]


@pytest.mark.parametrize(
    "epochs, costs, order, higher, lower",
    [
        ([None, None, 321, 91], [0.63, 0.33, 0.02, 0.01], [0.95, 0.8, 0.6, 0.3], True, False),
        ([None, None, None, None], [0.1, 0.2, 0.3, 0.4], [0.3, 0.6, 0.8, 0.95], False, True),
        ([None, 50, None, 90], [0.5, 0.01, 0.2, 0.02], [0.6, 0.95, 0.8, 0.3], False, False),
    ],
)
def test_the_momentum_order_is_read_from_the_histories(epochs, costs, order, higher, lower):
    values = [{"value": m, "full_epoch": e, "final_cost": c} for m, e, c in zip([0.3, 0.6, 0.8, 0.95], epochs, costs)]
    values = sorted(values, key=lambda v: v["value"])
    result = findings.momentum_order(values)
    assert result["order"] == order and [v["value"] for v in result["ranked"]] == order
    assert (result["higher_is_faster"], result["lower_is_faster"]) == (higher, lower)


@pytest.mark.parametrize(
    "means, n, case",
    [
        ([0.50], 5, "single_configuration"),
        ([0.50, 0.49], 1, "single_seed"),
        ([0.50, 0.48, 0.47], 5, "confirmed"),
        ([0.50, 0.499, 0.47], 5, "not_confirmed"),
        ([0.50, 0.501, 0.502], 5, "other_better"),
        ([0.50, 0.53, 0.49], 5, "other_better"),
    ],
)
def test_the_comparison_with_the_chosen_configuration_follows_the_replicates(means, n, case):
    result = findings.compare_configurations(_replicates(means, n=n))
    assert result["case"] == case
    if case == "not_confirmed":
        assert [row["rank"] for row in result["close"]] == [2] and [row["rank"] for row in result["beaten"]] == [3]
    if case == "other_better":
        better = [row["rank"] for row in result["better"]]
        assert better == sorted((i + 1 for i, m in enumerate(means) if m > means[0]), key=lambda r: -means[r - 1])
        assert bool(result["beyond_noise"]) == (max(means) - means[0] > 0.02)


def test_every_p_value_is_the_two_sided_test_the_tables_hold():
    from twolayer.replicates import compare_with_first, welch_p_from_summaries

    table = _replicates([0.50, 0.505, 0.495])
    rows = findings.compare_configurations(table)["rows"]
    chosen, higher, lower = (table.iloc[i].to_dict() for i in range(3))
    assert rows[1]["p"] == pytest.approx(welch_p_from_summaries(higher, chosen))
    assert rows[2]["p"] == pytest.approx(welch_p_from_summaries(chosen, lower))
    # two-sided: the same p whichever group comes first, twice the one-sided p in the observed direction
    assert welch_p_from_summaries(higher, chosen) == pytest.approx(welch_p_from_summaries(chosen, higher))
    one_sided = stats.ttest_ind_from_stats(higher["mean"], higher["std"], higher["n"], chosen["mean"], chosen["std"],
                                           chosen["n"], equal_var=False, alternative="greater").pvalue
    assert rows[1]["p"] == pytest.approx(2 * one_sided)
    # the column the stages write holds the very value the report prints
    rng = np.random.default_rng(0)
    groups = [0.50 + 0.004 * rng.standard_normal(5), 0.49 + 0.004 * rng.standard_normal(5)]
    written = compare_with_first(groups)[1]
    described = [describe(g) for g in groups]
    assert written["welch_p_two_sided"] == pytest.approx(findings.compare_configurations(
        pd.DataFrame([{**d, "rank": r} for r, d in enumerate(described, start=1)]))["rows"][1]["p"])
    assert written["difference"] == pytest.approx(described[1]["mean"] - described[0]["mean"])


def test_a_difference_beyond_noise_is_named_whichever_way_it_goes():
    # #2 higher beyond noise, #3 higher within noise, #4 lower beyond noise, #5 lower within noise
    result = findings.compare_configurations(_replicates([0.50, 0.53, 0.502, 0.47, 0.499], std=0.004))
    assert result["case"] == "other_better"
    assert [row["rank"] for row in result["beyond_noise"]] == [2]
    assert [row["rank"] for row in result["beaten"]] == [4]
    lower_only = findings.compare_configurations(_replicates([0.50, 0.499, 0.47], std=0.004))
    assert lower_only["case"] == "not_confirmed" and [row["rank"] for row in lower_only["beaten"]] == [3]


@pytest.mark.parametrize(
    "search, case",
    [([0.3703, 0.36, 0.36], "above_all"), ([0.3640, 0.36, 0.36], "above_mean"), ([0.3500, 0.36, 0.36], "none")],
)
def test_the_winners_curse_is_stated_when_the_search_score_beats_the_reruns(search, case):
    table = _replicates([0.3637, 0.3664, 0.3682], std=0.003, search=search)
    result = findings.winners_curse(table)
    assert result["case"] == case and result["score"] == search[0]
    assert result["above_mean"] == sum(s > m for s, m in zip(search, [0.3637, 0.3664, 0.3682]))


def _transfer(means, added=None, std=0.002):
    table = _replicates(means, std=std, n=3)
    table = table.rename(columns={"rank": "search_rank"}).assign(added=False)
    table["full_rank"] = table["mean"].rank(ascending=False, method="min")
    if added is not None:
        table.loc[len(table) - 1, ["added", "search_rank", "search_val_accuracy"]] = [True, np.nan, np.nan]
        table.loc[len(table) - 1, ["learning_rate", "regularization"]] = added
    return table


PUBLISHED = {"learning_rate": 0.35, "regularization": 0.00275}


def test_the_transfer_says_whether_the_choice_holds_and_where_the_published_one_stands():
    table = _transfer([0.494, 0.486, 0.4941, 0.490], added=(0.35, 0.00275))
    result = findings.transfer_findings(table, PUBLISHED)
    assert result["case"] == "other_better" and [row["search_rank"] for row in result["better"]] == [3]
    assert not result["beyond_noise"]
    assert result["published"]["added"] and result["published_rank"] == 3 and not result["published_is_chosen"]
    assert result["search_order"] == [1, 2, 3] and result["full_order"] == [3, 1, 2] and not result["order_kept"]
    # the swaps: #3 above #1 by 0.0001 (seed noise), #3 above #2 by 0.0081 (beyond it); #1 over #2 is no swap
    assert [(pair["above"], pair["below"]) for pair in result["swapped"]] == [(3, 1), (3, 2)]
    assert [(pair["above"], pair["below"]) for pair in result["swapped_beyond_noise"]] == [(3, 2)]
    assert result["swapped"][1]["difference"] == pytest.approx(0.0081)

    kept = findings.transfer_findings(_transfer([0.50, 0.49, 0.48]), PUBLISHED)
    assert kept["case"] == "confirmed" and kept["order_kept"] and kept["published"] is None and kept["chosen_is_best"]


def test_the_published_configuration_can_be_the_chosen_one():
    table = _transfer([0.50, 0.49])
    table.loc[0, ["learning_rate", "regularization"]] = [0.35, 0.00275]
    result = findings.transfer_findings(table, PUBLISHED)
    assert result["published_is_chosen"] and result["published_rank"] == 1


def test_the_confusions_are_the_largest_off_diagonal_cells():
    names = ["cat", "dog", "ship"]
    matrix = pd.DataFrame([[50, 30, 20], [40, 55, 5], [1, 2, 97]], columns=names)
    result = findings.confusion_findings(matrix, pairs=2)
    assert [(c["true"], c["predicted"], c["count"]) for c in result["directed"]] == [("dog", "cat", 40), ("cat", "dog", 30)]
    assert result["directed"][0]["share"] == pytest.approx(0.4)
    assert result["mutual"] == {"a": "cat", "b": "dog", "count": 70}
    assert result["errors"] == 98 and result["top_share_of_errors"] == pytest.approx(70 / 98)
    assert findings.confusion_findings(pd.DataFrame(np.diag([5, 5]), columns=["a", "b"]))["mutual"] is None


def test_the_published_gradient_sizes_are_set_within_each_starting_points_draws():
    rows = []
    for setup, values in (("study", [0.010, 0.014, 0.012]), ("published", [0.09, 0.15, 0.11])):
        rows += [{"setup": setup, "network": "one", "parameter": "linear1.W", "draw": draw, "mean_abs_analytic": value}
                 for draw, value in enumerate(values)]
    magnitudes = pd.DataFrame(rows)
    sums = pd.DataFrame({"setup": ["study", "published"], "network": "one", "parameter": "linear1.W",
                         "sum_abs_diff": [0.004, 0.008]})
    result = findings.gradient_magnitudes(magnitudes, sums, {"one": {"linear1.W": 0.12, "linear2.W": 0.5}},
                                          {"one": {"linear1.W": 0.008}})
    assert [row["parameter"] for row in result["rows"]] == ["linear1.W"]  # a matrix neither set-up checked is left out
    study, published = result["rows"][0]["starts"]["study"], result["rows"][0]["starts"]["published"]
    assert (study["tabled"], study["low"], study["high"], study["median"]) == (0.010, 0.010, 0.014, 0.012)
    assert not study["inside"] and published["inside"]
    assert published["ratio"] == pytest.approx(0.11 / 0.12) and study["sum_ratio"] == pytest.approx(0.5)
    assert result["setups"]["published"]["inside"] == 1 and result["setups"]["study"]["inside"] == 0
    assert result["setups"]["study"]["draws"] == 3 and result["setups"]["study"]["largest_ratio"] == pytest.approx(0.1)
    assert result["published_closer"] == 1 and result["published_sum_closer"] == 1  # sums 0.008 and 0.004 against 0.008
    outside = findings.gradient_magnitudes(magnitudes, sums, {"one": {"linear1.W": 0.2}}, {})
    assert outside["setups"]["published"]["inside"] == 0 and outside["published_closer"] == 1
    small = findings.gradient_magnitudes(magnitudes, sums, {"one": {"linear1.W": 0.013}}, {})
    assert small["setups"]["study"]["inside"] == 1 and small["published_closer"] == 0
    assert np.isnan(outside["rows"][0]["starts"]["published"]["sum_ratio"])  # no published sum: no ratio


def test_a_configuration_whose_every_seed_diverged_is_left_out_of_the_orders():
    table = _transfer([0.494, 0.486, 0.4941, 0.490], added=(0.35, 0.00275))
    table.loc[1, ["n", "mean", "std", "min", "max", "full_rank"]] = [0, np.nan, np.nan, np.nan, np.nan, np.nan]
    table.loc[3, ["n", "mean", "std", "min", "max", "full_rank"]] = [0, np.nan, np.nan, np.nan, np.nan, np.nan]
    result = findings.transfer_findings(table, PUBLISHED)
    assert result["case"] == "other_better" and [row["search_rank"] for row in result["better"]] == [3]
    assert [row["run_id"] for row in result["unusable"]] == [table["run_id"][1], table["run_id"][3]]
    assert result["published_rank"] is None and result["published"]["n"] == 0
    assert result["full_order"] == [3, 1] and result["search_order"] == [1, 3] and not result["order_kept"]
    assert result["best"]["search_rank"] == 3
    curse = findings.winners_curse(_replicates([np.nan, 0.36], n=0))
    assert curse["case"] == "no_runs"


def test_equal_full_scale_means_are_a_tie_not_a_kept_order():
    tied = findings.transfer_findings(_transfer([0.50, 0.50, 0.49]), PUBLISHED)
    assert tied["order_tied"] and not tied["order_kept"]
    distinct = findings.transfer_findings(_transfer([0.50, 0.495, 0.49]), PUBLISHED)
    assert not distinct["order_tied"] and distinct["order_kept"]


def test_the_effect_of_lambda_is_measured_from_the_full_scale_runs_when_both_configurations_trained():
    table = _transfer([0.494, 0.486, 0.490], added=(0.1, 0.00275))  # the added one has the chosen one's learning rate
    transfer = findings.transfer_findings(table, {"learning_rate": 0.1, "regularization": 0.00275})
    ids = list(table["run_id"])
    runs = pd.DataFrame([{"run_id": run_id, "replicate": r, "status": "ok", "train_accuracy": accuracy + 0.001 * r}
                         for run_id, accuracy in zip(ids, (0.55, 0.54, 0.539)) for r in range(3)])
    effect = findings.regularization_effect(runs, transfer)
    assert effect["same_learning_rate"] and effect["n"] == 3
    assert effect["chosen"] == pytest.approx(0.551) and effect["published"] == pytest.approx(0.540)
    assert effect["difference"] == pytest.approx(0.011) and effect["p"] < 0.05
    # a diverged run is left out; without the published configuration, or when it is the chosen one, nothing is said
    runs.loc[(runs["run_id"] == ids[2]) & (runs["replicate"] == 0), "status"] = "diverged"
    assert findings.regularization_effect(runs, transfer)["n"] == 2
    assert findings.regularization_effect(runs, {**transfer, "published": None}) is None
    chosen_published = findings.transfer_findings(table, {"learning_rate": 0.1, "regularization": 0.001})
    assert findings.regularization_effect(runs, chosen_published) is None
