"""Two finished studies side by side: what changed beyond seed noise, stage by stage.

A study folder holds ``results/`` and ``report/`` as the workflow wrote them (the
checkout itself for the default study, or a ``study_dir``). For each stage whose numbers
come from several seeds (the final test and training accuracy, the selection's chosen
configuration, each full-scale configuration both studies trained) the two means are set
against each other with the two-sided Welch test the report uses; the searches' top
choices, the configuration keys and the software versions are compared as they are.

    python -m twolayer.compare STUDY_A STUDY_B [--csv comparison.csv]

prints the table and a one-line verdict ("no difference" when nothing moved), and writes
the table as a CSV. Every file read must carry the record of the job that wrote it
(``twolayer.io``; the digest-only record of earlier versions counts), so an edited table is
refused, not compared.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .io import ChangedResultError, atomic_path, check_study_files, read_at_most
from .replicates import SIGNIFICANCE, describe, welch_p_value

COLUMNS = ("stage", "quantity", "a", "b", "difference", "welch_p_two_sided", "verdict")
# A study's tables are a few hundred kB; anything far larger is not one of them.
MAX_TABLE_BYTES = 50_000_000
MAX_JSON_BYTES = 1_000_000


class StudyError(ValueError):
    """A folder that is not a finished study, or a file in it that is not what the workflow wrote."""


def _read(study: Path, name: str) -> bytes | None:
    """The bytes of ``study/name`` after its record is checked; None when the file is absent."""
    path = study / name
    if not path.is_file():
        return None
    try:
        check_study_files(study, [name], digest_only=True)
    except ChangedResultError as error:
        raise StudyError(str(error)) from None
    data = read_at_most(path, MAX_TABLE_BYTES if name.endswith(".csv") else MAX_JSON_BYTES)
    if data is None:
        raise StudyError(f"{path} is larger than any table a study writes; it is not one of its results.")
    return data


# The columns each compared table must hold: only those the comparison reads (a subset of the
# stages' own column lists), so a study an earlier version wrote, with other columns, still compares.
COLUMNS_READ = {
    "results/final/replicates.csv": ("status", "test_accuracy", "train_accuracy"),
    "results/coarse/top.csv": ("run_id",),
    "results/fine/top.csv": ("run_id",),
    "results/selection/replicates.csv": ("rank", "status", "run_id", "val_accuracy"),
    "results/transfer/runs.csv": ("run_id", "status", "val_accuracy"),
}


def _table(study: Path, name: str) -> pd.DataFrame | None:
    data = _read(study, name)
    if data is None:
        return None
    try:
        table = pd.read_csv(io.BytesIO(data))
    except (ValueError, pd.errors.ParserError) as error:
        raise StudyError(f"{study / name} cannot be read as a table ({error}); it is not one this workflow writes.") from None
    missing = [column for column in COLUMNS_READ[name] if column not in table.columns]
    if missing:
        raise StudyError(f"{study / name} has no column {', '.join(missing)}, which the comparison reads: it was written by "
                         "a version of this workflow too different to compare, or by something else. Run the study again "
                         "with this version (snakemake --cores 8 in that folder) and compare the result.")
    return table


def _json(study: Path, name: str) -> dict | None:
    data = _read(study, name)
    return None if data is None else json.loads(data)


def _flat(mapping: Mapping, prefix: str = "") -> dict[str, object]:
    """A nested configuration as ``section.key`` -> value."""
    flat = {}
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _means(stage: str, quantity: str, a: Sequence[float], b: Sequence[float]) -> dict:
    """One row: two groups of seeds' values, their means, the difference and the two-sided Welch test."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if not len(a) or not len(b):  # every seed of a group diverged: no mean to set against the other
        mean_a, mean_b = (float(x.mean()) if len(x) else float("nan") for x in (a, b))
        verdict = ("the same: no seed finished in either" if not len(a) and not len(b)
                   else f"changed: no seed finished in {'a' if not len(a) else 'b'}")
        return {"stage": stage, "quantity": f"{quantity} (mean of {len(a)} and {len(b)} seeds)", "a": mean_a, "b": mean_b,
                "difference": float("nan"), "welch_p_two_sided": float("nan"), "verdict": verdict}
    mean_a, mean_b = describe(a)["mean"], describe(b)["mean"]
    p = welch_p_value(b, a) if len(a) > 1 and len(b) > 1 else float("nan")
    if np.isnan(p):
        verdict = "the same" if mean_a == mean_b else "changed, no spread to judge by"
    else:
        verdict = "beyond seed noise" if p < SIGNIFICANCE else "within seed noise"
    return {"stage": stage, "quantity": f"{quantity} (mean of {len(a)} and {len(b)} seeds)", "a": mean_a, "b": mean_b,
            "difference": mean_b - mean_a, "welch_p_two_sided": p, "verdict": verdict}


def _same(stage: str, quantity: str, a, b) -> dict:
    return {"stage": stage, "quantity": quantity, "a": a, "b": b, "difference": None, "welch_p_two_sided": None,
            "verdict": "the same" if a == b else "changed"}


def _require(study: Path) -> None:
    if not (study / "results").is_dir() or not (study / "report").is_dir():
        raise StudyError(f"{study} is not a finished study folder: it has no results/ and report/ folders. Give the "
                         "folder the study was built in (the checkout for the default study, or its study_dir), after "
                         "`snakemake --cores 8` has finished there.")


def compare_studies(a: str | Path, b: str | Path) -> pd.DataFrame:
    """Stage by stage, study ``b`` against study ``a``: one row per quantity (``COLUMNS``)."""
    a, b = Path(a), Path(b)
    for study in (a, b):
        _require(study)
    rows = []

    final = {study: _table(study, "results/final/replicates.csv") for study in (a, b)}
    if all(table is not None for table in final.values()):
        ok = {study: table[table["status"] == "ok"] for study, table in final.items()}
        for key, label in (("test_accuracy", "test accuracy"), ("train_accuracy", "training accuracy")):
            rows.append(_means("final", label, ok[a][key], ok[b][key]))

    for grid in ("coarse", "fine"):
        tops = {study: _table(study, f"results/{grid}/top.csv") for study in (a, b)}
        if all(top is not None for top in tops.values()):
            rows.append(_same(f"{grid} search", "chosen configuration", tops[a]["run_id"].iloc[0], tops[b]["run_id"].iloc[0]))
            rows.append(_same(f"{grid} search", "top configurations, in order",
                              " ".join(tops[a]["run_id"]), " ".join(tops[b]["run_id"])))

    selection = {study: _table(study, "results/selection/replicates.csv") for study in (a, b)}
    if all(table is not None for table in selection.values()):
        chosen = {study: table[(table["rank"] == 1) & (table["status"] == "ok")] for study, table in selection.items()}
        names = {study: str(chosen[study]["run_id"].iloc[0]) if len(chosen[study]) else "-" for study in (a, b)}
        label = names[a] if names[a] == names[b] else f"{names[a]} / {names[b]}"
        rows.append(_means("selection", f"chosen configuration's validation accuracy, {label}",
                           chosen[a]["val_accuracy"], chosen[b]["val_accuracy"]))

    transfer = {study: _table(study, "results/transfer/runs.csv") for study in (a, b)}
    if all(table is not None for table in transfer.values()):
        ok = {study: table[table["status"] == "ok"] for study, table in transfer.items()}
        for run_id in [run for run in dict.fromkeys(ok[a]["run_id"]) if run in set(ok[b]["run_id"])]:
            rows.append(_means("transfer", f"held-out accuracy, {run_id}", ok[a].loc[ok[a]["run_id"] == run_id, "val_accuracy"],
                               ok[b].loc[ok[b]["run_id"] == run_id, "val_accuracy"]))

    configs = {study: _json(study, "report/configuration.json") for study in (a, b)}
    if all(config is not None for config in configs.values()):
        flat = {study: _flat(config) for study, config in configs.items()}
        for key in sorted(set(flat[a]) | set(flat[b])):
            if flat[a].get(key) != flat[b].get(key):
                rows.append(_same("configuration", key, json.dumps(flat[a].get(key)), json.dumps(flat[b].get(key))))

    software = {study: _json(study, "report/software.json") for study in (a, b)}
    if all(record is not None for record in software.values()):
        versions = {study: {row["name"]: row["version"] for row in record["versions"]} for study, record in software.items()}
        for name in sorted(set(versions[a]) | set(versions[b])):
            if versions[a].get(name) != versions[b].get(name):
                rows.append(_same("software", name, versions[a].get(name, "-"), versions[b].get(name, "-")))
        if software[a]["commit"] != software[b]["commit"]:
            rows.append(_same("software", "commit", software[a]["commit"], software[b]["commit"]))
    elif any(record is not None for record in software.values()):
        missing = "a" if software[a] is None else "b"
        rows.append({"stage": "software", "quantity": "versions and commit", "a": "-" if missing == "a" else "recorded",
                     "b": "-" if missing == "b" else "recorded", "difference": None, "welch_p_two_sided": None,
                     "verdict": f"not recorded in {missing}"})
    if not rows:
        raise StudyError(f"{a} and {b} have no stage in common to compare: run the default target in both.")
    return pd.DataFrame(rows, columns=list(COLUMNS))


def verdict(table: pd.DataFrame) -> str:
    """One line: "no difference", or what moved beyond seed noise and what changed."""
    beyond = table[table["verdict"] == "beyond seed noise"]
    changed = table[table["verdict"].str.startswith("changed")]
    unrecorded = table[table["verdict"].str.startswith("not recorded")]
    if beyond.empty and changed.empty:
        if not unrecorded.empty:
            return ("No difference: every mean is within seed noise and every choice and key is the same; the software "
                    f"versions cannot be compared ({unrecorded['verdict'].iloc[0]}, which an earlier version wrote).")
        return "No difference: every mean is within seed noise and every choice, key and version is the same."
    parts = []
    if not beyond.empty:
        parts.append("beyond seed noise: " + "; ".join(f"{row.stage} {row.quantity.split(' (')[0]} "
                                                     f"({100 * row.difference:+.2f} points, p = {row.welch_p_two_sided:.3f})"
                                                     for row in beyond.itertuples()))
    if not changed.empty:
        parts.append("changed: " + "; ".join(f"{row.stage} {row.quantity}" for row in changed.itertuples()))
    return "Differences, " + " | ".join(parts) + "."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twolayer.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("a", type=Path, help="the first study folder (the reference)")
    parser.add_argument("b", type=Path, help="the second study folder, compared with the first")
    parser.add_argument("--csv", type=Path, default=Path("comparison.csv"), help="where to write the table (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        table = compare_studies(args.a, args.b)
    except StudyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    shown = table.assign(a=table["a"].map(_shown), b=table["b"].map(_shown),
                         difference=table["difference"].map(lambda d: "-" if d is None or d != d else f"{100 * d:+.2f} points"),
                         welch_p_two_sided=table["welch_p_two_sided"].map(lambda p: "-" if p is None or p != p else f"{p:.3f}"))
    print(f"{args.b} against {args.a}:\n")
    print(shown.to_markdown(index=False))
    print(f"\n{verdict(table)}")
    with atomic_path(args.csv, record=False) as path:  # not a study's file: no record beside it
        table.to_csv(path, index=False)
    print(f"Table written to {args.csv}")
    return 0


def _shown(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{100 * value:.2f}%"
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
