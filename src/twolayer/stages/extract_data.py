"""Verifying the dataset archive against its md5 and extracting its batches."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from ..cifar import extract_archive, verify_archive
from ..io import write_json

log = logging.getLogger(__name__)


def extract_data(archive: str | Path, url: str, md5: str, targets: Mapping[str, str | Path], out_json: str | Path) -> dict:
    """Check the archive against ``md5``, extract the members ``targets`` names, record what was checked.

    The archive is verified here, where it is used, whatever put it in place (this
    workflow's download, a copy made by hand, a run with another configuration).
    ``out_json`` records the configured source, the md5 computed from the file and its
    size: what the report states about the data.
    """
    verified = verify_archive(archive, md5)
    log.info("%s: md5 %s equals data.md5", archive, verified)
    for path in extract_archive(archive, targets):
        log.info("extracted %s", path)
    info = {"url": url, "archive": str(archive), "md5": verified, "bytes": Path(archive).stat().st_size}
    write_json(info, out_json)
    return info
