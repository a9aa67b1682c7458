"""Fetching the dataset archive named in the configuration."""

from __future__ import annotations

from pathlib import Path

from ..download import TransferSettings, fetch_archive


def download_data(url: str, md5: str, archive: str | Path, transfer: TransferSettings) -> None:
    fetch_archive(url, md5, archive, retries=transfer.retries, timeout=transfer.timeout)
