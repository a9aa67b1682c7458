"""The study's report: a Markdown document filled from the run's files, and its PDF.

``build_context`` reads every result file and derives the numbers the report states,
with every finding as a case from ``twolayer.findings``; ``render_markdown`` fills the
Jinja2 template with them (undefined names are errors, so no placeholder can survive),
as GitHub-flavoured Markdown for report.md or as pandoc's Markdown for the PDF;
``render_pdf`` converts the latter with pandoc to Typst and compiles that to PDF, both
from pip packages.

Text from the data or the configuration (class names, split and network names,
paths, sources) is only ever text: every string the template prints is escaped for
Markdown unless a filter below built it, pandoc reads Markdown without any raw
passthrough (HTML, TeX, Typst), and Typst compiles in a folder that holds only the
report's own files, within a time limit.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import yaml

from . import findings
from .cyclical_findings import cyclical_findings
from .config import split_batches
from .gradcheck import FLOOR, GATE_FULL_LIMIT, GATE_LARGEST
from .io import atomic_path, read_json
from .network import two_layer_network
from .provenance import config_digest, duration_text, git_commit, lock_check, run_span, stage_table, versions
from .replicates import interval_fits, locate, placement
from .search import CHANCE, COST_RISE, grid_values

STATISTIC_LABELS = {
    "sum_abs_diff": "sum of abs. differences",
    "mean_abs_analytic": "mean abs. value, backprop",
    "mean_abs_numeric": "mean abs. value, numeric",
    "min_abs_analytic": "min abs. value, backprop",
    "min_abs_numeric": "min abs. value, numeric",
    "max_abs_analytic": "max abs. value, backprop",
    "max_abs_numeric": "max abs. value, numeric",
    "max_rel_error": "max relative error",
}


class RuleInputs(Mapping):
    """The report rule's input files by name, as the rule declares them (workflow/rules/report.smk).

    The rule is the one place that names them; asking for a name it does not declare is
    an error that says where to add it.
    """

    def __init__(self, files: Mapping[str, str]):
        self._files = dict(files)

    def __getitem__(self, name: str) -> str:
        try:
            return self._files[name]
        except KeyError:
            raise KeyError(f"the report reads an input named {name!r}, which render_report does not declare; "
                           f"add it to the rule's input in workflow/rules/report.smk") from None

    def __iter__(self):
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)


class Markdown(str):
    """Text that is already Markdown, built here from numbers or escaped text; printed as it is."""


# The characters that can open or close Markdown anywhere in a line (emphasis, code, links,
# raw HTML and entities, attributes, tables, math, citations, super- and subscripts), and
# what acts only at the start of a line (lists, block quotes, headings' underlines, divs).
_ACTIVE = re.compile(r"([\\`*_{}\[\]<>#|$@^~!&])")
_LINE_START = re.compile(r"^(?:[-+:=%]|\d+[.)](?=\s|$))")
_TYPST_SHORTHANDS = re.compile(r"(\.(?=\.)|-(?=[?0-9]))")
# Typst's block markers (heading, list, enumeration, term): pandoc escapes them at the start
# of a paragraph but not at the start of a table cell.
_TYPST_BLOCK_START = re.compile(r"^(?:[-+=/]|\d+\.(?=\s|$))")
_BACKTICKS = re.compile("`+")


_UNBREAKING = "\u00a0\u2060"  # no-break space, word joiner: they keep a range such as 1% – 2% on one line


def _printable(value: str) -> str:
    """``value`` on one line: every control character or line break becomes U+FFFD (``_UNBREAKING`` stays)."""
    return "".join(c if c.isprintable() or c in _UNBREAKING else "\ufffd" for c in value)


def markdown_text(value) -> Markdown:
    """Any text as literal Markdown on one line: every character that could act is backslash-escaped
    (pandoc reads it as itself), so plain words and numbers stay readable in report.md. Applied to
    every string the template prints."""
    if isinstance(value, Markdown):
        return value
    plain = _printable(str(value))
    text = _ACTIVE.sub(r"\\\1", plain)
    # Typst reads "..." as an ellipsis, "-?" as a soft hyphen and "-5" as a minus sign, and
    # pandoc's Typst writer passes them through; an invisible word joiner keeps the characters.
    text = _TYPST_SHORTHANDS.sub("\\1\u2060", text)
    start = _LINE_START.match(text)
    if start:
        text = f"{text[:start.end() - 1]}\\{text[start.end() - 1:]}"
    if _TYPST_BLOCK_START.match(plain):
        text = "\u2060" + text  # an invisible word joiner: the marker no longer starts the cell
    return Markdown(text)


def _fence(text: str) -> str:
    """A run of backticks longer than any in ``text``."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    return "`" * (longest + 1)


def code(value) -> Markdown:
    """Text as an inline code span whose fence no backtick in it can close."""
    text = _printable(str(value))
    fence = _fence(text)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Markdown(f"{fence}{pad}{text}{pad}{fence}")


def code_block(value, language: str) -> Markdown:
    """Text as a fenced code block whose fence no line of it can close."""
    text = "\n".join(_printable(line) for line in str(value).splitlines())
    fence = "`" * max(3, len(_fence(text)))
    return Markdown(f"{fence}{language}\n{text}\n{fence}")


_SAFE_PATH = re.compile(r"[A-Za-z0-9._/-]+")


def link_target(value) -> Markdown:
    """A relative figure path for a Markdown link; paths are the workflow's own, so anything else is a bug."""
    if not _SAFE_PATH.fullmatch(str(value)):
        raise ValueError(f"figure path {str(value)!r} holds characters a Markdown link cannot carry as they are")
    return Markdown(value)


def pct(value: float, digits: int = 2) -> Markdown:
    """0.50224 -> '50.22%'."""
    return Markdown(f"{100 * float(value):.{digits}f}%")


def pvalue(value: float) -> Markdown:
    """A p-value to three decimals, or "< 0.001" below that (never "0.000", which would read as impossible)."""
    return Markdown("< 0.001" if float(value) < 0.0005 else f"{float(value):.3f}")


def sci(value: float) -> Markdown:
    """7.8331e-3 -> '7.833e-03'."""
    return Markdown(f"{float(value):.3e}")


def num(value: float, digits: int = 4) -> Markdown:
    """A number to ``digits`` significant digits: 13.3478 -> '13.35', 0.000032148 -> '3.215e-05'."""
    return Markdown(f"{float(value):.{digits}g}")


def tex(value: float) -> Markdown:
    """A power of ten or a number for TeX math: 1e-06 -> '10^{-6}', 2.5e-05 -> '2.5 \\times 10^{-5}'."""
    mantissa, exponent = f"{float(value):e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    power = f"10^{{{int(exponent)}}}"
    return Markdown(power if mantissa == "1" else f"{mantissa} \\times {power}")


def points(value: float) -> Markdown:
    """A difference of fractions in percentage points, signed: -0.0045 -> '-0.45'; one under 0.005
    points keeps a third decimal (-0.00003 -> '-0.003'), so it never reads as zero."""
    return Markdown(f"{100 * float(value):+.{_decimals(value)}f}")


def gap(value: float) -> Markdown:
    """``points`` without the sign, for a sentence that says the direction in words."""
    return Markdown(f"{100 * abs(float(value)):.{_decimals(value)}f}")


def _decimals(value: float) -> int:
    return 3 if 0 < abs(100 * float(value)) < 0.005 else 2


def _finalize(value):
    """What ``{{ ... }}`` prints: strings escaped as text, numbers and filter-built Markdown as they are."""
    return markdown_text(value) if isinstance(value, str) else value


def _relative(path: str | Path, start: str | Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


def _first_epoch_at_full_accuracy(rows: pd.DataFrame) -> int | None:
    full = rows.loc[rows["accuracy"] >= 1.0, "epoch"]
    return int(full.iloc[0]) if len(full) else None


def _search_context(summary_path: str, top_path: str, epochs: int, protocol: dict) -> dict:
    summary = pd.read_csv(summary_path)
    top = pd.read_csv(top_path)
    ok = summary[summary["status"] == "ok"]
    return {
        "epochs": epochs,
        "runs": len(summary),
        "learning_rates": sorted(summary["learning_rate"].unique(), reverse=True),
        "regularizations": sorted(summary["regularization"].unique(), reverse=True),
        **findings.search_failures(summary),
        "protocol": protocol,
        "top": top.to_dict("records"),
        "best": top.iloc[0].to_dict(),
        "spread": float(ok["val_accuracy"].max() - ok["val_accuracy"].min()),
    }


def _gradcheck_context(path: str, gate_path: str, magnitudes_path: str, settings: Mapping, published: Mapping) -> dict:
    """The gate, the published table reproduced from the published starting point, and the gradients'
    sizes from both starting points beside the published ones (``findings.gradient_magnitudes``)."""
    every = pd.read_csv(path)
    table = every[every["setup"] == "published"]
    gate = pd.read_csv(gate_path)
    networks = []
    for name, rows in table.groupby("network", sort=False):
        spec = settings["networks"][name]
        sizes = [3072, *spec["hidden_sizes"], 10]
        networks.append(
            {
                "name": name,
                "architecture": " → ".join(map(str, sizes)),
                "regularization": (f"{spec['regularization'][0]:g}" if len(spec["regularization"]) == 1 else
                                   ", ".join(f"{v:g} (layer {i})" for i, v in enumerate(spec["regularization"], start=1))),
                "parameters": rows["parameter"].tolist(),
                "shapes": rows["shape"].tolist(),
                "statistics": [
                    {"label": label, "values": rows[column].tolist()} for column, label in STATISTIC_LABELS.items()
                ],
                "max_rel_error": float(rows["max_rel_error"].max()),
            }
        )
    worst = float(gate["max_rel_error"].max())
    return {
        "networks": networks,
        "gate": gate.to_dict("records"),
        "gate_entries": int(gate["entries"].sum()),
        "reproduction_worst": float(table["max_rel_error"].max()),
        "worst": worst,
        "passed": worst <= settings["gate"]["bound"],
        "bound": settings["gate"]["bound"],
        "gate_h": settings["gate"]["h"],
        "floor": FLOOR,
        "largest": GATE_LARGEST,
        "full_limit": GATE_FULL_LIMIT,
        "method": settings["published"]["method"],
        "h": settings["published"]["h"],
        "published_init": settings["published"]["weight_init"],
        "published_centred": settings["published"]["centred"],
        "samples": settings["samples"],
        "magnitudes": findings.gradient_magnitudes(pd.read_csv(magnitudes_path), every, published["gradcheck_mean_abs"],
                                                   published["gradcheck_sum_abs_diff"]),
    }


def _placement(published: Mapping, statistics: Mapping[str, dict]) -> list[dict]:
    """For the final test and training accuracy: the replicates' statistics and where the published value falls."""
    rows = []
    for key, label in (("test_accuracy", "test"), ("train_accuracy", "training")):
        summary = statistics[key]
        location = locate(published["final"][key], summary)
        rows.append({"label": label, "published": published["final"][key], **summary, **location,
                     **placement(location, summary)})
    return rows


def _selection_context(summary_path: str) -> dict:
    """The fine top runs retrained from fresh seeds, compared with the chosen one
    (``findings.compare_configurations``), and the search's scores against them (``findings.winners_curse``)."""
    summary = pd.read_csv(summary_path)
    return {**findings.compare_configurations(summary), "curse": findings.winners_curse(summary)}


def _transfer_context(inputs: Mapping[str, str], config: Mapping, published: Mapping, figure) -> dict:
    """The transfer stage's findings, or ``{"enabled": False}`` when it is off."""
    settings = config["transfer"]
    if not settings["enabled"]:
        return {"enabled": False}
    summary = pd.read_csv(inputs["transfer_summary"])
    transfer = findings.transfer_findings(summary, published["final"])
    searched = set(config["splits"]["search_train"]) | set(config["splits"]["search_val"])
    # every configuration trains once per seed; the summary counts the runs that did not diverge
    diverged = int(settings["replicates"] * len(summary) - summary["n"].sum())
    return {"enabled": True, "settings": settings, "diverged": diverged,
            "held_out_searched": sorted(set(settings["held_out"]) & searched),
            "figure": figure("transfer_curves"),
            **transfer,
            "regularization_effect": findings.regularization_effect(pd.read_csv(inputs["transfer_runs"]), transfer)}


def _reproduction(published: Mapping, coarse: dict, fine: dict, statistics: Mapping[str, Mapping]) -> dict:
    """The published numbers beside this run's: the searches' best runs, and the final accuracies beside
    the mean over this run's seeds (``statistics``, per quantity)."""
    searches = []
    for grid, ours in (("coarse", coarse), ("fine", fine)):
        theirs = sorted(published[f"{grid}_top3"], key=lambda row: -row["val_accuracy"])
        for rank, (pub, run) in enumerate(zip(theirs, ours["top"]), start=1):
            for key, label in (("val_accuracy", "validation"), ("train_accuracy", "training")):
                searches.append({"grid": grid, "rank": rank, "label": label, "published": pub, "ours": run,
                                 "key": key, "difference": run[key] - pub[key]})
    finals = [
        {"label": label, "published": published["final"][key], "ours": statistics[key]["mean"], "n": statistics[key]["n"],
         "difference": statistics[key]["mean"] - published["final"][key]}
        for key, label in (("train_accuracy", "training"), ("test_accuracy", "test"))
    ]
    return {"searches": searches, "finals": finals, "citation": published["citation"]}


def _used_sizes(config: Mapping, images: Mapping[str, int], final: Mapping) -> dict:
    """Sizes as the stages used them: configured values clipped to the rows of their split."""
    search_rows = images["search_train"]
    sizes = {
        "gradcheck_samples": (config["gradcheck"]["samples"], search_rows),
        "momentum_samples": (config["momentum"]["samples"], search_rows),
        "search_batch": (config["training"]["batch_size"], search_rows),
        "final_batch": (config["training"]["batch_size"], images["final_train"]),
    }
    used = {name: {"configured": configured, "used": min(configured, rows), "clipped": configured > rows} for name, (configured, rows) in sizes.items()}
    if final.get("batch_size") is not None and final["batch_size"] != used["final_batch"]["used"]:
        raise ValueError(f"metrics.json says batch size {final['batch_size']}, the split sizes give {used['final_batch']['used']}")
    return used


def build_context(inputs: Mapping[str, str], benchmarks: Mapping[str, Sequence[str]], config: Mapping,
                  published: Mapping, report_dir: str | Path, repo: str | Path,
                  shared_rules: Sequence[str] = ()) -> dict:
    """Everything the template states, read or derived from the run's files.

    ``inputs``: the report rule's input files by name; ``benchmarks``: rule -> the benchmark
    files of its jobs; ``shared_rules``: those of its rules whose jobs live in the data store,
    shared by every study of the checkout (their span is given apart). ``figures`` in the
    result lists every figure the report shows, for the PDF.
    """
    inputs = RuleInputs(inputs)
    report_dir = Path(report_dir)
    figures = []

    def figure(name: str) -> str:
        figures.append(inputs[name])
        return _relative(inputs[name], report_dir)
    source = read_json(inputs["source"])
    balance = pd.read_csv(inputs["class_balance"])
    split_names = list(dict.fromkeys(balance["split"]))
    counts = balance.pivot(index="class", columns="split", values="count").loc[list(dict.fromkeys(balance["class"]))]
    splits = [
        {"name": name, "batches": ", ".join(split_batches(config)[name]), "images": int(counts[name].sum())} for name in split_names
    ]

    training = config["training"]
    images = {split["name"]: split["images"] for split in splits}
    final = read_json(inputs["final_metrics"])
    used = _used_sizes(config, images, final)
    net = two_layer_network(3072, hidden_size=training["hidden_size"], weight_init="zeros", mean=np.zeros(3072))
    architecture = [
        {
            "name": layer.name,
            "kind": type(layer).__name__,
            "input": layer.input_size,
            "output": layer.output_size,
            "parameters": sum(p.size for p in layer.params.values()),
        }
        for layer in net.layers
    ]

    momentum_history = pd.read_csv(inputs["momentum"])
    momenta = []
    for value, rows in momentum_history.groupby("momentum", sort=True):
        momenta.append(
            {
                "value": value,
                "full_epoch": _first_epoch_at_full_accuracy(rows),
                "final_cost": float(rows["cost"].iloc[-1]),
                "final_accuracy": float(rows["accuracy"].iloc[-1]),
            }
        )

    search_rows, search_batch = images["search_train"], used["search_batch"]["used"]
    coarse = {**_search_context(inputs["coarse_summary"], inputs["coarse_top"], config["coarse"]["epochs"],
                                findings.search_protocol(search_rows, search_batch, config["coarse"]["epochs"])),
              "heatmap": figure("coarse_heatmap"), "curves": figure("coarse_curves")}
    fine = {**_search_context(inputs["fine_summary"], inputs["fine_top"], config["fine"]["epochs"],
                              findings.search_protocol(search_rows, search_batch, config["fine"]["epochs"])),
            "heatmap": figure("fine_heatmap"), "curves": figure("fine_curves")}
    fine["origin"] = findings.fine_grid_origin(
        config["fine"]["grid_from"], (fine["learning_rates"], fine["regularizations"]),
        (grid_values(published["fine_grid"]["learning_rates"]), grid_values(published["fine_grid"]["regularizations"])),
        coarse["best"])
    final_protocol = findings.search_protocol(images["final_train"], used["final_batch"]["used"], config["final"]["epochs"])
    history = pd.read_csv(inputs["final_history"])
    per_class = pd.read_csv(inputs["final_per_class"])
    class_spread = pd.read_csv(inputs["final_per_class_statistics"])
    if list(class_spread["class"]) != list(per_class["class"]):
        raise ValueError(f"{inputs['final_per_class_statistics']} and {inputs['final_per_class']} list different classes; rerun summarize_final.")
    per_class = per_class.assign(mean=class_spread["mean"], std=class_spread["std"])
    ranked = per_class.sort_values("mean", ascending=False, kind="stable")
    statistics = {
        key: {**row, "n": int(row["n"]), "interval_fits": interval_fits(row, 0.0, 1.0 if key.endswith("accuracy") else float("inf"))}
        for key, row in pd.read_csv(inputs["final_statistics"]).set_index("quantity").to_dict("index").items()
    }
    replicates = pd.read_csv(inputs["final_replicates"])
    confusion = pd.read_csv(inputs["final_confusion"], index_col=0)  # true classes label the rows
    gradcheck = _gradcheck_context(inputs["gradcheck"], inputs["gradcheck_gate"], inputs["gradcheck_magnitudes"],
                                   config["gradcheck"], published)
    selection = _selection_context(inputs["selection_summary"])
    transfer = _transfer_context(inputs, config, published, figure)
    if transfer["enabled"]:
        transfer["protocol"] = findings.search_protocol(images["transfer_train"], min(config["training"]["batch_size"],
                                                        images["transfer_train"]), config["final"]["epochs"])
    cyclical = {"enabled": False}
    if config["cyclical"]["enabled"]:
        cyclical = {**cyclical_findings(inputs, config, published),
                    **{f"{name}_png": figure(f"cyclical_{name}_png") for name in ("range_test", "schedule", "curves", "search", "head_to_head", "widths")}}
    # The data store's jobs serve every study of the checkout and may have run in another one's
    # invocation: the study's span is its own jobs'.
    run = run_span({rule: files for rule, files in benchmarks.items() if rule not in shared_rules})
    data_run = run_span({rule: benchmarks[rule] for rule in shared_rules}) if shared_rules else None

    stages = stage_table(benchmarks).to_dict("records")
    if cyclical["enabled"]:
        cyclical["job_seconds"] = findings.mean_job_seconds(stages, {"later": ["train_cyclical"],
                                                                     "earlier": ["train_final", "train_final_replicate"]})
    software = versions()
    return {
        "seed": config["seed"],
        "config": config,
        "config_yaml": yaml.safe_dump(dict(config), sort_keys=False, width=80, default_flow_style=None).strip(),
        "config_digest": config_digest(config),
        "data": {
            "url": source["url"],
            "archive": source["archive"],
            "store": Path(inputs["source"]).parent.as_posix() + "/",
            "md5": source["md5"],
            "megabytes": source["bytes"] / 1e6,
            "official": source["md5"].lower() == "c58f30108f718f92721af3b95e74349a",
            "splits": splits,
            "split_names": split_names,
            "balance": [{"class": name, "counts": [int(counts.loc[name, s]) for s in split_names]} for name in counts.index],
            "samples": figure("samples_png"),
        },
        "architecture": architecture,
        "total_parameters": sum(row["parameters"] for row in architecture),
        "training": training,
        "used": used,
        "gradcheck": gradcheck,
        "momentum": {
            "settings": config["momentum"],
            "values": momenta,
            **findings.momentum_order(momenta),
            "figure": figure("momentum_png"),
            "panels": figure("momentum_panels_png"),
        },
        "chance": CHANCE,
        "cost_rise": COST_RISE,
        "coarse": coarse,
        "fine": fine,
        "fine_from_coarse": config["fine"]["grid_from"] == "coarse",
        "final": {
            **final,
            "figure": figure("final_curves"),
            "confusion": figure("final_confusion_png"),
            "per_class": per_class.to_dict("records"),
            "best_class": ranked.iloc[0].to_dict(),
            "worst_class": ranked.iloc[-1].to_dict(),
            "best_epoch_test": int(history.loc[history["test_accuracy"].idxmax(), "epoch"]),
            "best_test_accuracy": float(history["test_accuracy"].max()),
            "gap": final["train_accuracy"] - final["test_accuracy"],
            "replicates": replicates.to_dict("records"),
            "diverged_replicates": int((replicates["status"] != "ok").sum()),
            "statistics": statistics,
            "protocol": final_protocol,
            "confusion_findings": findings.confusion_findings(confusion),
            "published_configuration": {key: published["final"][key] for key in ("learning_rate", "regularization")},
            "same_as_published": bool(np.isclose(final["learning_rate"], published["final"]["learning_rate"])
                                      and np.isclose(final["regularization"], published["final"]["regularization"])),
        },
        "selection": selection,
        "transfer": transfer,
        "cyclical": cyclical,
        "run": run,
        "data_run": data_run,
        "reproduction": {**_reproduction(published, coarse, fine, statistics),
                         "placement": _placement(published, statistics)},
        "figures": figures,
        "provenance": {
            "commit": git_commit(repo),
            "versions": software,
            "blas_libraries": sum(row["name"].startswith("BLAS") for row in software),
            "lock": lock_check(inputs["lock"]),
            "stages": stages,
            "job_seconds": sum(row["total_s"] for row in stages),
        },
    }


def environment(template_dir: str | Path) -> jinja2.Environment:
    """Jinja2 environment for Markdown: strict about undefined names, with number filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        finalize=_finalize,
    )
    env.filters.update(pct=pct, pvalue=pvalue, sci=sci, num=num, tex=tex, points=points, gap=gap, code=code, code_block=code_block, md=Markdown,
                       link=link_target, duration=duration_text)
    return env


FLAVOURS = ("gfm", "pandoc")


def render_markdown(template: str | Path, context: Mapping, out_md: str | Path, flavour: str = "gfm") -> str:
    """Fill the template and write it to ``out_md``; return the text.

    ``flavour`` ``gfm`` writes Markdown that any CommonMark or GitHub viewer shows as meant
    (no YAML header, attributes or caption lines: captions are paragraphs of their own);
    ``pandoc`` writes the same text with pandoc's title block, figure widths and table
    captions, for the PDF.
    """
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {FLAVOURS}, got {flavour!r}")
    template = Path(template)
    text = environment(template.parent).get_template(template.name).render(
        **context, flavour=flavour, h=Markdown("#" if flavour == "pandoc" else "##"),
        unnumbered=Markdown(" {.unnumbered}" if flavour == "pandoc" else ""))
    with atomic_path(out_md, record=flavour == "gfm") as tmp:
        tmp.write_text(text)
    return text


# Markdown as pandoc reads it here: no raw HTML, TeX or attribute-tagged raw blocks, so no
# text can reach Typst as code; no smart punctuation, so quotes and dashes in a name print
# as they are.
PANDOC_FORMAT = "markdown-raw_html-raw_tex-raw_attribute-latex_macros-smart"
# Measured: pandoc takes under 2 s and Typst under 10 s for the study's report; a text
# that keeps either busy far longer is refused instead of hanging the workflow.
RENDER_SECONDS = 300


# The PDF's layout, added to pandoc's Typst. A figure stays between its section's heading and
# the next and leaves no page far from full: it is set where it stands if it fits in the rest
# of the page; floated to the top of a page (the text after it filling this one) if its
# section began on an earlier page; else shrunk to the room left if that is at least half its
# height; else set on the next page. Pending floats are placed before every heading; tables
# break across pages, each caption kept with its table's first rows. Measured on the
# reference, single-seed and smoke reports (the largest empty share of a page before the
# appendix): figures floating freely put 2, 2 and 3 of their 10 figures in other sections;
# figures held in place left 24%, 27% and 5% empty; this layout keeps every figure in its
# section and leaves 7%, 5% and 7%. tests/test_report.py and tests/test_reference.py check
# both. Code blocks are set small; the appendix starts on a page of its own.
TYPST_LAYOUT = """#let figure-anchor = state("figure-anchor", (room: 0pt, page: 0))
#let page-margin(side, axis, extent) = {
  let m = page.margin
  if type(m) == dictionary { m = m.at(side, default: m.at(axis, default: m.at("rest", default: auto))) }
  if m == auto { m = 2.5 / 21 * calc.min(page.width, page.height) }
  if type(m) == relative { m = m.length + m.ratio * extent }
  m
}
#show figure.where(kind: image): it => {
  block(height: 0pt, above: 0.8em, below: 0pt, context figure-anchor.update((
    room: page.height - page-margin("bottom", "y", page.height) - here().position().y, page: here().page())))
  context {
    let anchor = figure-anchor.get()
    let width = page.width - page-margin("left", "x", page.width) - page-margin("right", "x", page.width)
    let need = measure(it, width: width).height
    let section = query(selector(heading).before(here())).last().location().page()
    if need <= anchor.room { it }
    else if section < anchor.page { place(top, float: true, clearance: 1.5em, it) }
    else if anchor.room >= 0.5 * need {
      show image: set image(height: measure(it.body, width: width).height - (need - anchor.room) - 2pt, fit: "contain")
      it
    }
    else { it }
  }
}
#show heading: it => { place.flush(); it }
#show figure.where(kind: table): set block(breakable: true)
#show figure.caption: it => block(sticky: true, it)
#show raw.where(block: true): set text(size: 8pt)
#show <appendix-configuration-of-the-run>: it => pagebreak(weak: true) + it
"""
_TYPST_BODY = "#show: doc => conf("


def _with_layout(typ: Path) -> None:
    text = typ.read_text()
    at = text.find(_TYPST_BODY)
    typ.write_text(TYPST_LAYOUT + text if at < 0 else text[:at] + TYPST_LAYOUT + text[at:])


def _run_limited(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=RENDER_SECONDS)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{what} did not finish within {RENDER_SECONDS} s and was stopped; report.md is kept for inspection.") from None
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


def render_pdf(markdown: str | Path, out_pdf: str | Path, figures: Sequence[str | Path]) -> None:
    """Markdown -> Typst (pandoc, from pypandoc_binary) -> PDF (typst), images relative to the Markdown.

    Typst compiles in a fresh folder that holds the Typst source and copies of
    ``figures`` at the same relative places, and nothing else: whatever the text says,
    no other file can be read into the PDF. Each step runs in its own process within
    ``RENDER_SECONDS``.
    """
    import pypandoc

    markdown = Path(markdown).resolve()
    figures = [Path(figure).resolve() for figure in figures]
    base = Path(os.path.commonpath([markdown.parent, *(figure.parent for figure in figures)]))
    with tempfile.TemporaryDirectory(prefix=".report-", dir=markdown.parent) as stage:
        stage = Path(stage)
        typ = stage / markdown.relative_to(base).with_suffix(".typ")
        typ.parent.mkdir(parents=True, exist_ok=True)
        for figure in figures:
            copy = stage / figure.relative_to(base)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(figure, copy)
        _run_limited(
            [pypandoc.get_pandoc_path(), str(markdown), "--from", PANDOC_FORMAT, "--to", "typst", "--standalone",
             "--columns=10000", "--output", str(typ)],
            "pandoc (Markdown to Typst)",
        )
        _with_layout(typ)
        compiled = stage / "report.pdf"
        _run_limited(
            [sys.executable, "-c", "import sys, typst; typst.compile(sys.argv[1], output=sys.argv[2], root=sys.argv[3])",
             str(typ), str(compiled), str(stage)],
            "typst (Typst to PDF)",
        )
        with atomic_path(out_pdf) as pdf:
            shutil.copyfile(compiled, pdf)
