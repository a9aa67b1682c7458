"""The fine search's top table, read and checked: the configurations the later stages train."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def _shown(value) -> str:
    return repr(value) if isinstance(value, str) else f"{float(value):g}"


def top_configurations(top_csv: str | Path) -> pd.DataFrame:
    """Every row of a search's top table, checked: a run id, a finite learning rate > 0, a regularization >= 0."""
    try:
        top = pd.read_csv(top_csv)
    except (OSError, ValueError) as error:
        raise ValueError(f"{top_csv} cannot be read as a table ({error}); rerun the fine search's selection.") from None
    missing = sorted({"run_id", "learning_rate", "regularization"} - set(top.columns))
    if missing or top.empty:
        raise ValueError(f"{top_csv} must have a first row with run_id, learning_rate and regularization; "
                         f"it has {len(top)} rows{' and lacks ' + ', '.join(missing) if missing else ''}. Rerun the fine grid's selection (add `--forcerun select` to the run's snakemake command).")
    for _, row in top.iterrows():
        lr, reg = pd.to_numeric(row[["learning_rate", "regularization"]], errors="coerce")
        if not (np.isfinite(lr) and lr > 0 and np.isfinite(reg) and reg >= 0):
            raise ValueError(f"{top_csv}: configuration {row['run_id']} has learning rate {_shown(row['learning_rate'])} and "
                             f"regularization {_shown(row['regularization'])}; expected a finite rate > 0 and a value >= 0. "
                             f"Rerun the fine grid's selection (add `--forcerun select` to the run's snakemake command).")
    top[["learning_rate", "regularization"]] = top[["learning_rate", "regularization"]].astype(np.float64)
    top["run_id"] = top["run_id"].astype(str)
    return top


def chosen_configuration(top_csv: str | Path) -> pd.Series:
    """The first row of a search's top table (checked as ``top_configurations`` checks every row)."""
    return top_configurations(top_csv).iloc[0]
