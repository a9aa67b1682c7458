"""Building one split file from the extracted batches."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from ..preprocess import build_split, save_split

log = logging.getLogger(__name__)


def prepare_split(batch_paths: Sequence[str | Path], split_path: str | Path) -> None:
    """Write one split file from its batches, concatenated in the given order.

    A batch without images is an error (DataFormatError), so no split is empty.
    """
    X, y = build_split(batch_paths)
    save_split(split_path, X, y)
    log.info("%s: %d images from %s", split_path, len(y), ", ".join(str(path) for path in batch_paths))
