"""Building the split files, the class balance and the sample grid from the extracted batches."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..cifar import load_class_names
from ..io import write_csv
from ..preprocess import build_split, class_balance, save_split

log = logging.getLogger(__name__)


def prepare_data(
    batch_paths: Mapping[str, str | Path],
    meta_path: str | Path,
    splits: Mapping[str, Sequence[str]],
    split_paths: Mapping[str, str | Path],
    class_balance_csv: str | Path,
    samples_png: str | Path,
) -> None:
    """Write one split file per named split, the class-balance table and a sample grid.

    ``batch_paths`` maps a batch name to its extracted file; each split lists batch names.
    A batch without images is an error (DataFormatError), so no split is empty.
    """
    from .. import plots  # matplotlib is slow to import: only the stages that draw load it

    class_names = load_class_names(meta_path)
    labels = {}
    for name, batches in splits.items():
        X, y = build_split([batch_paths[batch] for batch in batches])
        save_split(split_paths[name], X, y)
        labels[name] = y
        log.info("split %s: %d images from %s", name, len(y), ", ".join(batches))
        if name == "final_train":
            plots.sample_grid(X, y, class_names, samples_png)
    write_csv(class_balance(labels, class_names), class_balance_csv)
