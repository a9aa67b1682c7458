"""Seed replicates: their statistics, the report's words about them, and the workflow's replicate jobs."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from markdown_text import unescape
from twolayer.replicates import describe, locate, placement, welch_p_value
from workflow_runner import make_workdir, run_snakemake, smoke_config

T_975 = {2: 12.706204736174698, 3: 4.302652729749464, 5: 2.7764451051977987}  # t quantiles, n - 1 degrees of freedom


def test_describe_gives_the_t_interval_for_the_mean():
    values = [0.50, 0.52, 0.49, 0.51, 0.53]
    summary = describe(values)
    mean, std = np.mean(values), np.std(values, ddof=1)
    assert summary["n"] == 5 and summary["mean"] == pytest.approx(mean) and summary["std"] == pytest.approx(std)
    half = T_975[5] * std / math.sqrt(5)
    assert summary["ci_low"] == pytest.approx(mean - half) and summary["ci_high"] == pytest.approx(mean + half)
    assert (summary["min"], summary["max"]) == (0.49, 0.53)


def test_one_replicate_has_no_spread_and_says_so():
    summary = describe([0.5])
    assert math.isnan(summary["std"]) and math.isnan(summary["ci_low"])
    where = locate(0.6, summary)
    assert not where["in_interval"] and placement(where, summary) == {"case": "single", "side": "above"}


@pytest.mark.parametrize(
    "published, case, side",
    [
        (0.51, "in_interval", None),
        (0.526, "in_range", "above"),
        (0.60, "outside", "above"),
        (0.40, "outside", "below"),
    ],
)
def test_the_case_follows_where_the_published_value_falls(published, case, side):
    summary = describe([0.50, 0.51, 0.50, 0.51, 0.53])
    assert placement(locate(published, summary), summary) == {"case": case, "side": side}


def test_welch_test_separates_a_real_difference_from_noise():
    rng = np.random.default_rng(3)
    noise = rng.normal(0.5, 0.01, size=5)
    assert welch_p_value(noise + 0.05, noise) < 0.01
    assert welch_p_value(noise + 0.001, noise[::-1]) > 0.05
    assert math.isnan(welch_p_value([0.5], noise))


def _replicate_metrics(workdir):
    paths = [workdir / "results/final/metrics.json", *sorted((workdir / "results/final/replicates").glob("*/metrics.json"))]
    return [json.loads(path.read_text()) for path in paths]


def test_replicates_train_one_configuration_from_different_seeds(smoke_run):
    metrics = _replicate_metrics(smoke_run)
    assert [m["replicate"] for m in metrics] == [0, 1, 2]
    assert len({(m["learning_rate"], m["regularization"]) for m in metrics}) == 1
    histories = [smoke_run / "results/final/history.csv",
                 *(smoke_run / f"results/final/replicates/{r}/history.csv" for r in (1, 2))]
    texts = [path.read_text() for path in histories]
    assert len(set(texts)) == 3, "replicates trained from different seeds must differ"
    assert len({m["test_accuracy"] for m in metrics}) > 1


def test_replicate_zero_is_the_model_of_a_run_without_replicates(smoke_run, tmp_path, archive):
    single = make_workdir(tmp_path, smoke_config(archive, final={"replicates": 1}))
    run_snakemake(single, "--cores", "2", "final")
    assert not (single / "results/final/replicates").exists()
    for name in ("history.csv", "metrics.json", "confusion_matrix.csv", "per_class_accuracy.csv", "model.npz"):
        assert (single / "results/final" / name).read_bytes() == (smoke_run / "results/final" / name).read_bytes(), name
    statistics = pd.read_csv(single / "results/final/replicate_statistics.csv").set_index("quantity")
    assert statistics.loc["test_accuracy", "n"] == 1 and np.isnan(statistics.loc["test_accuracy", "std"])


def test_the_reports_statistics_are_those_of_the_replicate_files(smoke_run):
    metrics = _replicate_metrics(smoke_run)
    report = unescape((smoke_run / "report/report.md").read_text()).replace("\u00a0", " ").replace("\u2060", "")
    for key, label in (("test_accuracy", "test accuracy"), ("train_accuracy", "training accuracy")):
        values = np.array([m[key] for m in metrics])
        mean, std = values.mean(), values.std(ddof=1)
        half = T_975[3] * std / math.sqrt(3)
        row = next(line for line in report.splitlines() if line.startswith(f"| {label} |"))
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        fits = 0 <= mean - half and mean + half <= 1
        interval = f"{100 * (mean - half):.2f}% – {100 * (mean + half):.2f}%" if fits else "wider than 0% – 100%"
        assert cells == [label, f"{100 * values[0]:.2f}%", f"{100 * mean:.2f}%", f"{100 * std:.2f}",
                         f"{100 * values.min():.2f}% – {100 * values.max():.2f}%", interval]
    selection = pd.read_csv(smoke_run / "results/selection/replicates.csv")
    chosen = selection[selection["rank"] == 1]["val_accuracy"]
    assert len(chosen) == 3
    section = report.split("### The chosen configuration under seed noise")[1].split("\n## Final")[0]
    row = next(line for line in section.splitlines() if line.startswith("| 1 | "))
    assert f"| {100 * chosen.mean():.2f}% | {100 * chosen.std():.2f} |" in row


def _report_inputs(workdir):
    from twolayer.provenance import benchmark_files
    from workflow_runner import REPO, data_store

    r = workdir / "results"
    return dict(
        source=data_store(workdir) / "source.json", class_balance=r / "data/class_balance.csv", samples_png=r / "data/samples.png",
        gradcheck=r / "gradcheck/gradcheck.csv", gradcheck_gate=r / "gradcheck/gate.csv",
        gradcheck_magnitudes=r / "gradcheck/magnitudes.csv",
        momentum=r / "momentum/history.csv", momentum_png=r / "momentum/comparison.png",
        coarse_summary=r / "coarse/summary.csv", coarse_top=r / "coarse/top.csv", coarse_heatmap=r / "coarse/heatmap.png",
        coarse_curves=r / "coarse/top_curves.png", fine_summary=r / "fine/summary.csv", fine_top=r / "fine/top.csv",
        fine_heatmap=r / "fine/heatmap.png", fine_curves=r / "fine/top_curves.png",
        final_metrics=r / "final/metrics.json", final_history=r / "final/history.csv",
        final_per_class=r / "final/per_class_accuracy.csv", final_curves=r / "final/learning_curves.png",
        final_confusion_png=r / "final/confusion_matrix.png", final_replicates=r / "final/replicates.csv",
        final_statistics=r / "final/replicate_statistics.csv",
        final_per_class_statistics=r / "final/per_class_statistics.csv",
        selection_summary=r / "selection/summary.csv",
        momentum_panels_png=r / "momentum/panels.png",
        final_confusion=r / "final/confusion_matrix.csv", transfer_summary=r / "transfer/summary.csv", transfer_runs=r / "transfer/runs.csv",
        transfer_curves=r / "transfer/curves.png", lock=REPO / "requirements.lock",
        **{f"cyclical_{name}": r / f"cyclical/{file}" for name, file in (
            ("range_test", "range_test.csv"), ("range_test_png", "range_test.png"), ("head_to_head", "head_to_head.csv"),
            ("better", "better.json"), ("widths", "widths.csv"), ("ensemble", "ensemble.csv"), ("schedule_png", "schedule.png"),
            ("curves_png", "curves.png"), ("search_png", "search.png"), ("head_to_head_png", "head_to_head.png"),
            ("widths_png", "widths.png"), ("coarse_runs", "search/coarse/runs.csv"), ("fine_runs", "search/fine/runs.csv"),
            ("fine_top", "search/fine/top.csv"), ("coarse_top", "search/coarse/top.csv"), ("width_runs", "width_runs.csv"))},
        cyclical_metrics=sorted((r / "cyclical/final").glob("*/metrics.json"), key=lambda path: int(path.parent.name)),
        cyclical_snapshots=sorted((r / "cyclical/final").glob("*/snapshots.csv"), key=lambda path: int(path.parent.name)),
    ), benchmark_files(r, data_store(workdir))


def test_the_sentence_about_the_published_value_follows_the_numbers(smoke_run, tmp_path):
    import yaml

    from twolayer.report import render_markdown
    from workflow_runner import REPO

    config = yaml.safe_load((smoke_run / "config.yaml").read_text())
    statistics = pd.read_csv(smoke_run / "results/final/replicate_statistics.csv").set_index("quantity")
    test = statistics.loc["test_accuracy"]
    published = yaml.safe_load((REPO / "report/published.yaml").read_text())
    texts = {}
    for name, value in (("inside", test["mean"]), ("outside", max(test["max"], test["ci_high"]) + 0.02)):
        published["final"]["test_accuracy"] = float(value)
        from twolayer.report import build_context

        context = build_context(*_report_inputs(smoke_run), config, published, tmp_path, REPO)
        rendered = render_markdown(REPO / "report/template.md.j2", context, tmp_path / f"{name}.md")
        texts[name] = " ".join(unescape(rendered).split())
    if 0 <= test["ci_low"] and test["ci_high"] <= 1:
        assert "The published value lies inside the 95% interval for the mean of the 3 replicates" in texts["inside"]
        assert "The published value lies above both the 95% interval for the mean and the range of the 3 replicates" in texts["outside"]
    else:  # the smoke data is fitted almost perfectly, so 3 replicates can give an interval past 100%
        assert "too wide to judge the difference by; the published value lies inside the range of the 3" in texts["inside"]
        assert "too wide to judge the difference by; the published value lies outside the range of the 3" in texts["outside"]
    assert "1.5 points" not in texts["inside"] + texts["outside"]


def test_replicate_files_that_do_not_belong_together_are_refused(tmp_path, smoke_run):
    import shutil

    from twolayer.stages.summarize_final import summarize_final

    final = smoke_run / "results/final"
    metrics = [final / "metrics.json", final / "replicates/1/metrics.json", final / "replicates/2/metrics.json"]
    histories = [p.with_name("history.csv") for p in metrics]
    per_class = [p.with_name("per_class_accuracy.csv") for p in metrics]
    outputs = {name: tmp_path / f"{name}.out" for name in ("table", "statistics", "per_class", "curves_png", "confusion_png")}
    confusion = final / "confusion_matrix.csv"
    swapped = [metrics[0], metrics[2], metrics[1]]
    with pytest.raises(ValueError, match="do not match replicates"):
        summarize_final([0, 1, 2], swapped, histories, per_class, confusion, outputs)
    other = tmp_path / "other.json"
    shutil.copy(metrics[2], other)
    record = json.loads(other.read_text())
    record["learning_rate"] *= 2
    other.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="disagree on learning_rate"):
        summarize_final([0, 1, 2], [metrics[0], metrics[1], other], histories, per_class, confusion, outputs)
    assert not outputs["statistics"].exists()


@pytest.mark.parametrize("key, value, expected", [("test_accuracy", 7.0, "test_accuracy is 7.0"),
                                                  ("train_accuracy", None, "train_accuracy is None"),
                                                  ("test_cost", "low", "test_cost is 'low'"),
                                                  ("train_cost", -1.0, "train_cost is -1.0"),
                                                  ("status", "fine", "status is 'fine'")])
def test_replicate_metrics_with_impossible_values_are_refused(tmp_path, smoke_run, key, value, expected):
    from twolayer.stages.summarize_final import summarize_final

    final = smoke_run / "results/final"
    metrics = [final / "metrics.json", final / "replicates/1/metrics.json", tmp_path / "2.json"]
    record = json.loads((final / "replicates/2/metrics.json").read_text())
    record[key] = value
    metrics[2].write_text(json.dumps(record))
    sources = [final / "metrics.json", final / "replicates/1/metrics.json", final / "replicates/2/metrics.json"]
    outputs = {name: tmp_path / f"{name}.out" for name in ("table", "statistics", "per_class", "curves_png", "confusion_png")}
    with pytest.raises(ValueError, match=expected):
        summarize_final([0, 1, 2], metrics, [p.with_name("history.csv") for p in sources],
                                   [p.with_name("per_class_accuracy.csv") for p in sources], final / "confusion_matrix.csv",
                                   outputs)
    assert not outputs["table"].exists()


def test_an_interval_wider_than_an_accuracy_can_be_is_not_stated_as_one():
    from twolayer.replicates import interval_fits

    two = describe([0.40, 0.55])  # t(0.975, 1) = 12.7: the interval spans far past 0..1
    assert two["ci_low"] < 0 and two["ci_high"] > 1 and not interval_fits(two, 0.0, 1.0)
    assert placement(locate(0.5, two), two)["case"] == "too_wide"
    five = describe([0.50, 0.51, 0.49, 0.50, 0.505])
    assert interval_fits(five, 0.0, 1.0) and placement(locate(0.5, five), five)["case"] == "in_interval"


def test_the_report_gives_no_interval_outside_zero_to_one_for_two_replicates(smoke_run, tmp_path):
    import yaml

    from twolayer.report import build_context, render_markdown
    from workflow_runner import REPO

    statistics = pd.read_csv(smoke_run / "results/final/replicate_statistics.csv")
    statistics["n"] = 2
    accuracy = statistics["quantity"].str.endswith("accuracy")
    statistics.loc[accuracy, "ci_low"] = -0.3147
    statistics.loc[accuracy, "ci_high"] = 1.5853
    edited = tmp_path / "replicate_statistics.csv"
    statistics.to_csv(edited, index=False)
    inputs, benchmarks = _report_inputs(smoke_run)
    inputs = {**inputs, "final_statistics": edited}
    config = yaml.safe_load((smoke_run / "config.yaml").read_text())
    published = yaml.safe_load((REPO / "report/published.yaml").read_text())
    context = build_context(inputs, benchmarks, config, published, tmp_path, REPO)
    text = unescape(render_markdown(REPO / "report/template.md.j2", context, tmp_path / "report.md"))
    assert "-31.47%" not in text and "158.53%" not in text
    assert "wider than 0% – 100%" in text and "too wide to judge the difference by" in text


def _selection_summary(path, means, n=5, std=0.004, search=0.5):
    """A selection summary: configuration #1 is the chosen one; ``means`` in search-rank order."""
    rows = []
    for rank, mean in enumerate(means, start=1):
        rows.append({"rank": rank, "run_id": f"lr0.{rank}_reg0.001", "learning_rate": rank / 10, "regularization": 0.001,
                     "search_val_accuracy": search, "n": n, "mean": mean, "std": std, "min": mean - std,
                     "max": mean + std, "ci_low": mean - std, "ci_high": mean + std, "difference": mean - means[0],
                     "welch_p_two_sided": float("nan"), "beyond_noise": False, "best_mean": mean == max(means)})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    "means, n, search, words",
    [
        ([0.50], 5, 0.5, ["There is a single configuration, so there is nothing to compare it with."]),
        ([0.50, 0.49], 1, 0.5, ["With a single seed per configuration the replicates cannot separate"]),
        ([0.50, 0.48, 0.47], 5, 0.5, ["its lead over every other one is beyond seed noise: over #2 (learning rate 0.2, λ = 0.001) by 2.00 points (p < 0.001) and #3",
                                     "The replicates confirm the choice"]),
        ([0.50, 0.499, 0.47], 5, 0.5, ["but its lead over #2 (learning rate 0.2, λ = 0.001) by 0.10 points (p = 0.",
                                       "is within seed noise", "Its lead over #3 (learning rate 0.3, λ = 0.001) by 3.00 points (p < 0.001) is beyond seed noise."]),
        ([0.50, 0.501, 0.503], 5, 0.5, ["2 configurations have a higher mean than the chosen one: #3 (learning rate 0.3, λ = 0.001), +0.30 points",
                                        "Not one of these higher means is beyond seed noise"]),
        ([0.50, 0.53, 0.49], 5, 0.5, ["1 configuration has a higher mean than the chosen one: #2 (learning rate 0.2, λ = 0.001), +3.00 points (p < 0.001).",
                                      "For 1 of them the difference is beyond seed noise: by the replicates, the search's choice was not the best",
                                      "The chosen configuration's lead over #3 (learning rate 0.3, λ = 0.001) by 1.00 points (p = 0.00"]),
        ([0.50, 0.49], 5, 0.51, ["search score, 51.00%, is above every one of its 5 fresh-seed runs", "winner's curse"]),
        ([0.50, 0.49], 5, 0.502, ["search score, 50.20%, is above the mean of its 5 fresh-seed runs (50.00%) by 0.20 points but within their range"]),
        ([0.50, 0.49], 5, 0.49, ["search score, 49.00%, is not above the mean of its fresh-seed runs (50.00%)"]),
    ],
)
def test_the_report_words_the_selection_case(smoke_run, tmp_path, means, n, search, words):
    import yaml

    from twolayer.report import build_context, render_markdown
    from workflow_runner import REPO

    inputs, benchmarks = _report_inputs(smoke_run)
    inputs = {**inputs, "selection_summary": _selection_summary(tmp_path / "summary.csv", means, n, search=search)}
    config = yaml.safe_load((smoke_run / "config.yaml").read_text())
    published = yaml.safe_load((REPO / "report/published.yaml").read_text())
    context = build_context(inputs, benchmarks, config, published, tmp_path, REPO)
    text = " ".join(unescape(render_markdown(REPO / "report/template.md.j2", context, tmp_path / "report.md")).split())
    section = text.split("under seed noise")[1].split("## Final")[0]
    for phrase in words:
        assert phrase in section


def test_a_report_input_the_rule_does_not_declare_is_named(smoke_run, tmp_path):
    import yaml

    from twolayer.report import build_context
    from workflow_runner import REPO

    inputs, benchmarks = _report_inputs(smoke_run)
    del inputs["final_history"]
    config = yaml.safe_load((smoke_run / "config.yaml").read_text())
    published = yaml.safe_load((REPO / "report/published.yaml").read_text())
    with pytest.raises(KeyError, match="'final_history', which render_report does not declare.*report.smk"):
        build_context(inputs, benchmarks, config, published, tmp_path, REPO)
