"""What a finished run prints last: where the report is, and the result it leads with."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import yaml


def headline(statistics_csv: str | Path, published_yaml: str | Path, report_paths: Sequence[str | Path]) -> str | None:
    """Two lines naming the report and giving the final test accuracy beside the published one, or
    None when the report is missing or older than the final statistics it would state."""
    statistics, reports = Path(statistics_csv), [Path(path) for path in report_paths]
    if not statistics.exists() or not all(path.exists() for path in reports):
        return None
    if min(path.stat().st_mtime for path in reports) < statistics.stat().st_mtime:
        return None
    test = pd.read_csv(statistics).set_index("quantity").loc["test_accuracy"]
    published = yaml.safe_load(Path(published_yaml).read_text())["final"]["test_accuracy"]
    spread = (f" ± {100 * test['std']:.2f} points (mean ± standard deviation over {int(test['n'])} seeds)"
              if int(test["n"]) > 1 else " (one seed)")
    return (f"The report is in {', '.join(str(path) for path in reports)}.\n"
            f"Final test accuracy: {100 * test['mean']:.2f}%{spread}; the original study published {100 * published:.2f}%.")
