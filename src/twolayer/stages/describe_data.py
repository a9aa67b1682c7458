"""Describing the split files once all exist: images per class, and a grid of samples."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..cifar import NUM_CLASSES, load_class_names
from ..io import write_csv
from ..preprocess import class_balance, read_split

log = logging.getLogger(__name__)

# The split whose images the sample grid shows.
SAMPLE_SPLIT = "final_train"


def describe_data(
    split_paths: Mapping[str, str | Path],
    meta_path: str | Path,
    class_balance_csv: str | Path,
    samples_png: str | Path,
) -> None:
    """Write the images per class of every split and a grid of sample images.

    ``split_paths`` maps a split's name to its file. Every file is read and checked before
    anything is written; the sample grid shows the images of ``SAMPLE_SPLIT``.
    """
    from .. import plots  # matplotlib is slow to import: only the stages that draw load it

    class_names = load_class_names(meta_path)
    labels = {}
    for name, path in split_paths.items():  # every file checked before anything is written
        split = read_split(path)
        labels[name] = split["y"]
        if name == SAMPLE_SPLIT:
            sample_pixels = split["X"]  # the only pixels kept: at most two splits' pixels are held at once
        log.info("split %s: %d images, %s per class", name, len(labels[name]),
                 "/".join(map(str, np.bincount(labels[name], minlength=NUM_CLASSES))))
    plots.sample_grid(sample_pixels, labels[SAMPLE_SPLIT], class_names, samples_png)
    write_csv(class_balance(labels, class_names), class_balance_csv)
