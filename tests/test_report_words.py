"""Each finding sentence of the report follows its case: the smoke run's context, moved both ways."""

import copy
import os
from pathlib import Path

import pytest
import pandas as pd
import yaml

from markdown_text import unescape
from test_replicates import _report_inputs
from twolayer import findings
from twolayer.provenance import run_span
from twolayer.report import build_context, render_markdown
from workflow_runner import REPO


@pytest.fixture(scope="module")
def context(smoke_run, tmp_path_factory):
    config = yaml.safe_load((smoke_run / "config.yaml").read_text())
    published = yaml.safe_load((REPO / "report/published.yaml").read_text())
    return build_context(*_report_inputs(smoke_run), config, published, smoke_run / "report", REPO)


def _render(context, tmp_path, flavour="gfm"):
    text = render_markdown(REPO / "report/template.md.j2", context, tmp_path / f"report.{flavour}.md", flavour)
    return " ".join(unescape(text).split())


def _p(value):
    """A p-value as the report words it: "p = 0.031", or "p < 0.001"."""
    from twolayer.report import pvalue

    return f"p {'' if value < 0.0005 else '= '}{pvalue(value)}"


def _moved(context, path, value):
    moved = copy.deepcopy(context)
    *parents, last = path.split(".")
    node = moved
    for key in parents:
        node = node[key]
    node[last] = value
    return moved


def _momentum(context, order, higher, lower):
    by_value = {v["value"]: v for v in context["momentum"]["values"]}
    moved = _moved(_moved(context, "momentum.order", order), "momentum.ranked", [by_value[value] for value in order])
    return _moved(_moved(moved, "momentum.higher_is_faster", higher), "momentum.lower_is_faster", lower)


def test_the_momentum_sentence_follows_the_order(context, tmp_path):
    values = [v["value"] for v in context["momentum"]["values"]]
    higher = _render(_momentum(context, sorted(values, reverse=True), True, False), tmp_path)
    lower = _render(_momentum(context, sorted(values), False, True), tmp_path)
    mixed = _render(_momentum(context, values[1:] + values[:1], False, False), tmp_path)
    assert "The higher the momentum, the faster the subset is fitted" in higher
    assert "The lower the momentum, the faster the subset is fitted" in lower
    assert "Speed does not follow the momentum value" in mixed
    assert "The higher the momentum" not in lower + mixed and "Higher momentum fits" in higher
    assert f"momentum {values[1]} " in mixed.split("Speed does not follow")[1][:400]


def test_the_fine_grid_sentence_says_where_the_coarse_best_lies(context, tmp_path):
    inside = {"case": "published", "outside": [], "positions": context["fine"]["origin"]["positions"]}
    outside_positions = copy.deepcopy(inside["positions"])
    outside_positions["learning_rate"].update(side="above", low=0.25, high=0.35)
    outside = {"case": "derived", "outside": ["learning_rate"], "positions": outside_positions}
    text_inside = _render(_moved(context, "fine.origin", inside), tmp_path)
    text_outside = _render(_moved(context, "fine.origin", outside), tmp_path)
    assert "which is the original study's fixed fine grid" in text_inside and "lies inside it on both axes" in text_inside
    assert "derived from the coarse search's best runs" in text_outside
    assert "lies outside it on one axis: its learning rate is above the fine range 0.25 – 0.35." in text_outside
    assert ", outside the fine grid" in text_outside and ", outside the fine grid" not in text_inside


def test_failed_runs_are_named_and_their_absence_stated(context, tmp_path):
    bad = {"learning_rate": 0.5, "regularization": 0.3, "val_accuracy": 0.0575, "val_cost": 13.35, "epochs": 5}
    flagged = _moved(_moved(_moved(context, "coarse.below_chance", [bad]), "coarse.cost_rose", [bad]), "coarse.failed", 1)
    clean = _moved(_moved(_moved(context, "coarse.below_chance", []), "coarse.cost_rose", []), "coarse.failed", 0)
    clean = _moved(clean, "coarse.diverged", [])
    text = _render(flagged, tmp_path).split("### Coarse search")[1].split("### Fine search")[0]
    assert "1 run ended below chance, marked * in the heat map: learning rate 0.5 with λ = 0.3 (5.8%)." in text
    assert "In 1 run the validation cost climbed, marked ↑ in the heat map: learning rate 0.5 with λ = 0.3 " \
           "(final validation cost 13.35, accuracy 5.8%)." in text
    assert "Every run kept a finite cost" not in text
    clean_text = _render(clean, tmp_path).split("### Coarse search")[1].split("### Fine search")[0]
    assert "Every run kept a finite cost, ended above chance" in clean_text and "below chance," not in clean_text


def test_the_final_section_names_the_published_configuration_when_it_differs(context, tmp_path):
    same = _render(_moved(context, "final.same_as_published", True), tmp_path)
    other = _render(_moved(context, "final.same_as_published", False), tmp_path)
    assert "It is the configuration the original study trained as its final one" in same
    published = context["final"]["published_configuration"]
    assert (f"The original study's final training used learning rate {published['learning_rate']} with "
            f"λ = {published['regularization']}") in other
    assert "where the published model used" in other and "where the published model used" not in same


def test_the_transfer_verdict_follows_the_full_scale_runs(context, tmp_path):
    transfer = context["transfer"]
    assert transfer["enabled"]
    published = next((row for row in transfer["rows"] if row["added"]), None)
    context = _moved(context, "transfer.order_tied", False)
    kept = _render(_moved(_moved(context, "transfer.order_kept", True), "transfer.case", "confirmed"), tmp_path)
    assert "At full scale the search's top configurations keep the order the search gave them." in kept
    assert "The full-scale runs confirm the choice" in kept
    changed = _moved(_moved(context, "transfer.order_kept", False), "transfer.full_order", [2, 1])
    swap = {"above": 2, "below": 1, "difference": 0.004, "p": 0.01, "beyond_noise": True}
    beyond = _render(_moved(_moved(changed, "transfer.swapped", [swap]), "transfer.swapped_beyond_noise", [swap]), tmp_path)
    assert "come in another order" in beyond and "by full-scale mean #2, #1" in beyond
    assert "#2 above #1 (0.40 points, p = 0.010) is beyond seed noise." in beyond
    assert "the search's order changes, with #2 above #1 beyond seed noise" in beyond
    within = _render(_moved(_moved(changed, "transfer.swapped", [{**swap, "p": 0.4, "beyond_noise": False}]),
                            "transfer.swapped_beyond_noise", []), tmp_path)
    assert "No swapped pair differs beyond seed noise" in within and "order changes within seed noise" in within
    tied = _render(_moved(_moved(context, "transfer.order_tied", True), "transfer.order_kept", False), tmp_path)
    assert "have equal held-out means, so their order cannot be set against the search's" in tied
    assert "keep the order" not in tied and "do not keep" not in tied and "the search's order is tied" in tied
    if published is not None and not published["chosen"]:
        level = copy.deepcopy(context)
        next(row for row in level["transfer"]["rows"] if row["added"])["difference"] = 0.0
        level["transfer"]["published"]["difference"] = 0.0
        assert "with the same held-out mean as the chosen configuration" in _render(level, tmp_path)
    gone = _render(_moved(_moved(context, "transfer.published", None), "transfer.published_rank", None), tmp_path)
    assert "was not among the configurations trained here" in gone
    if published is not None:
        text = _render(context, tmp_path)
        assert f"ranks {int(published['full_rank'])} of {transfer['configurations']} at full scale" in text
    off = _render(_moved(context, "transfer", {"enabled": False}), tmp_path)
    assert "left out the full-scale training" in off and "At full scale" not in off


def test_both_flavours_say_the_same_and_only_the_pdf_source_carries_pandoc_syntax(context, tmp_path):
    gfm = render_markdown(REPO / "report/template.md.j2", context, tmp_path / "a.md", "gfm")
    pandoc = render_markdown(REPO / "report/template.md.j2", context, tmp_path / "b.md", "pandoc")
    assert pandoc.startswith("---\ntitle:") and "{width=" in pandoc and "\nTable: " in pandoc
    assert "{width=" not in gfm and "\nTable: " not in gfm and "{.unnumbered}" not in gfm and "\n---\n" not in gfm

    def section(text, heading, marker):
        return " ".join(text.split(f"{marker} {heading}\n")[1].split(f"\n{marker} ")[0].split())

    for heading in ("Conclusion", "Does the choice hold at full scale?", "Final"):
        same = [section(text, heading, marker).split("![")[0].replace("*", "").replace("Table: ", "")
                for text, marker in ((gfm, "##"), (pandoc, "#"))]
        assert same[0] == same[1], heading


def test_held_out_batches_the_searches_used_are_called_out(context, tmp_path):
    clean = _render(_moved(context, "transfer.held_out_searched", []), tmp_path)
    reused = _render(_moved(context, "transfer.held_out_searched", ["data_batch_5"]), tmp_path)
    warning = "The held-out batches include data_batch_5, which the searches used, so this check is not independent"
    assert warning in reused and "which the searches used" not in clean


def _benchmark(tmp_path, name, seconds, end):
    path = tmp_path / f"{name}.tsv"
    path.write_text(f"s\th:m:s\n{seconds}\t0:00:{int(seconds)}\n")
    os.utime(path, (end, end))
    return path


def test_the_run_span_is_read_from_the_benchmark_files_and_written_as_a_person_would(tmp_path):
    # 2027-01-15 08:00:00 UTC; job a from 07:59:30 to 08:00, job b from 08:06:30 to 08:06:40, within the gap of
    # a running job c (08:00 to 08:06:35): one sitting of 7 minutes 10 seconds
    morning = 1_800_000_000 - 1_800_000_000 % 86400 + 8 * 3600
    files = {"a": [_benchmark(tmp_path, "a", 30.0, morning)], "b": [_benchmark(tmp_path, "b", 10.0, morning + 400)],
             "c": [_benchmark(tmp_path, "c", 395.0, morning + 395)]}
    span = run_span(files)
    assert span["wall_seconds"] == pytest.approx(430.0) and len(span["sittings"]) == 1
    assert span["when"] == "on 15 January 2027 from 07:59 to 08:06 UTC" and span["duration"] == "7 minutes"
    # a stage rerun an hour later is a sitting of its own; the hour between is not counted
    files["d"] = [_benchmark(tmp_path, "d", 90.0, morning + 3600 + 90)]
    span = run_span(files)
    assert [s["jobs"] for s in span["sittings"]] == [3, 1]
    assert span["wall_seconds"] == pytest.approx(430.0 + 90.0) and span["duration"] == "9 minutes"
    assert span["when"] == "on 15 January 2027 from 09:00 to 09:01 UTC"
    # within one minute, one time
    assert run_span({"f": [_benchmark(tmp_path, "f", 20.0, morning + 50)]})["when"] == "on 15 January 2027 at 08:00 UTC"
    # across midnight both dates are written
    late = {"e": [_benchmark(tmp_path, "e", 1200.0, morning + 16 * 3600 + 600)]}
    assert run_span(late)["when"] == "from 15 January 2027, 23:50 UTC to 16 January 2027, 00:10 UTC"


@pytest.mark.parametrize("seconds, words", [(12, "under a minute"), (60, "1 minute"), (250, "4 minutes"),
                                            (3600, "1 hour"), (3900, "1 hour 5 minutes"), (7260, "2 hours 1 minute")])
def test_durations_read_as_a_person_says_them(seconds, words):
    from twolayer.provenance import duration_text
    assert duration_text(seconds) == words


def test_the_study_span_leaves_out_the_shared_data_store(smoke_run, tmp_path):
    """The archive's download and extraction may have run in another study's invocation, weeks before:
    the study's span is its own jobs', and the data store's is given apart."""
    config = yaml.safe_load((smoke_run / "config.yaml").read_text())
    published = yaml.safe_load((REPO / "report/published.yaml").read_text())
    inputs, benchmarks = _report_inputs(smoke_run)
    shared = ("download_data", "extract_data")
    moved = {rule: [] for rule in shared}
    for rule in shared:  # copies of the store's benchmarks, dated a month earlier
        for index, path in enumerate(benchmarks[rule]):
            copy_path = tmp_path / f"{rule}{index}.tsv"
            copy_path.write_bytes(path.read_bytes())
            earlier = path.stat().st_mtime - 30 * 86400
            os.utime(copy_path, (earlier, earlier))
            moved[rule].append(copy_path)
    context = build_context(inputs, {**benchmarks, **moved}, config, published, smoke_run / "report", REPO, shared)
    own = run_span({rule: files for rule, files in benchmarks.items() if rule not in shared})
    assert context["run"] == own and context["data_run"] == run_span(moved)
    text = _render(context, tmp_path)
    assert f"the study's own jobs ran {own['when']} ({own['duration']})" in text and len(own["sittings"]) == 1
    store = Path(inputs["source"]).parent
    assert store.name == config["data"]["md5"]
    assert f"kept in `{store.as_posix()}/` for every study of this checkout, ran {context['data_run']['when']}" in text


def _configurations(means, std=0.004, n=5, transfer=False):
    """A selection (or, with ``transfer``, a full-scale) summary of configurations over seeds, #1 the chosen one."""
    rows = []
    for index, mean in enumerate(means, start=1):
        row = {"run_id": f"lr0.{index}_reg0.001", "learning_rate": index / 10, "regularization": 0.001,
               "search_val_accuracy": 0.5, "n": n, "mean": mean, "std": std, "min": mean - std, "max": mean + std,
               "ci_low": mean - std, "ci_high": mean + std, "confidence": 0.95}
        rows.append({**row, "search_rank": index, "added": False} if transfer else {**row, "rank": index})
    table = pd.DataFrame(rows)
    if transfer:
        table["full_rank"] = table["mean"].rank(ascending=False, method="min")
    return table


@pytest.mark.parametrize("means", [[0.50, 0.53, 0.502, 0.47], [0.50, 0.499, 0.47], [0.50, 0.47, 0.46]])
def test_every_difference_beyond_noise_is_named_in_its_section_and_the_conclusion(context, tmp_path, means):
    """Whichever way a configuration differs from the chosen one beyond seed noise, the selection and the
    transfer paragraphs and the Conclusion name it with the p-value of its table row."""
    selection = findings.compare_configurations(_configurations(means))
    moved = _moved(context, "selection", {**selection, "curse": context["selection"]["curse"]})
    transfer = findings.transfer_findings(_configurations(means, n=3, transfer=True), {"learning_rate": 9, "regularization": 9})
    moved = _moved(moved, "transfer", {**context["transfer"], **transfer})
    text = _render(moved, tmp_path)
    selection_section = text.split("The chosen configuration under seed noise")[1].split("Does the choice hold at full scale?")[0]
    transfer_section = text.split("Does the choice hold at full scale?")[1].split("# Reproduction")[0]
    conclusion = text.split("# Conclusion")[1].split("# Provenance")[0]
    for result, section in ((selection, selection_section), (transfer, transfer_section)):
        significant = [row for row in result["rows"] if row["significant"]]
        assert significant, "every case here has a difference beyond noise"
        for row in significant:
            p = _p(row["p"])
            assert p in section, (p, section)
            assert p in conclusion, (p, conclusion)
        for row in result["rows"]:
            if not row["chosen"] and not row["significant"]:
                assert _p(row["p"]) not in conclusion
    # each name reads as written, escaped once for Markdown whatever the macros it passes through
    for result, name in ((selection, lambda row: f"#{row['rank']} ("), (transfer, lambda row: f"search #{row['search_rank']} (")):
        for row in (row for row in result["rows"] if row["significant"]):
            assert name(row) in conclusion, (name(row), conclusion)


def test_the_gradient_sizes_paragraph_counts_its_draws_and_judges_the_sums_only_when_the_sizes_separate(context, tmp_path):
    one = _render(_moved(_moved(context, "gradcheck.magnitudes.setups.published.draws", 1),
                         "gradcheck.magnitudes.setups.study.draws", 1), tmp_path)
    assert "Over 1 draw of the initial weights" in one and "1 draws" not in one
    matrices = context["gradcheck"]["magnitudes"]["setups"]["published"]["matrices"]
    separated = _moved(_moved(context, "gradcheck.magnitudes.published_closer", matrices),
                       "gradcheck.magnitudes.published_sum_closer", 0)
    assert "they do not tell the two starting points apart" in _render(separated, tmp_path)
    neither = _moved(_moved(context, "gradcheck.magnitudes.published_closer", 0), "gradcheck.magnitudes.published_sum_closer", 0)
    assert "they do not tell the two starting points apart" not in _render(neither, tmp_path)


def test_the_later_recipe_sentences_follow_the_numbers(context, tmp_path):
    on = _render(context, tmp_path)
    assert "The two recipes head to head" in on and "head to head" in on
    hh = context["cyclical"]["head_to_head"]
    flipped = copy.deepcopy(context)
    flipped["cyclical"]["head_to_head"]["better"] = "earlier" if hh["better"] == "later" else "later"
    text = _render(flipped, tmp_path)
    winner = "earlier" if hh["better"] == "later" else "later"
    assert f"The {winner} recipe's mean is higher by" in text
    equal = copy.deepcopy(context)
    equal["cyclical"]["head_to_head"]["equal_available"] = not hh["equal_available"]
    text = _render(equal, tmp_path)
    if hh["equal_available"]:
        assert "cannot be set side by side at an equal number of passes" in text
    else:
        assert "At an equal number of passes over the data" in text and "| equal passes |" in text
    widths = copy.deepcopy(context)
    own = widths["cyclical"]["widths"]["own"]
    widths["cyclical"]["widths"]["best"] = own
    widths["cyclical"]["widths"]["better_beyond_noise"] = []
    text = _render(widths, tmp_path)
    assert f"No width tried beats {own['hidden_size']} units on the mean" in text
    assert "No wider hidden layer helps beyond seed noise" in text
    for better, word in ((True, "better"), (False, "worse")):
        moved = _moved(context, "cyclical.ensemble.better", better)
        assert f"the ensemble of cycle ends is {word} than the last network alone" in _render(moved, tmp_path)
    off = _render(_moved(context, "cyclical", {"enabled": False}), tmp_path)
    assert "This run leaves out the later version of the assignment" in off and "config/cyclical.yaml" in off
    assert "The two recipes head to head" not in off and "The later recipe.**" not in off


def test_p_values_below_a_thousandth_read_as_such():
    from twolayer.report import pvalue

    assert pvalue(0.0001) == "< 0.001" and pvalue(0.0312) == "0.031" and pvalue(0.0005) == "0.001"
