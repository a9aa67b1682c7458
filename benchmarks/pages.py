"""Measured output written into a documentation page, between two markers the page holds."""

from __future__ import annotations

import io
import sys
from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}: begin -->", f"<!-- {name}: end -->"


def write_section(page: Path, name: str, text: str) -> None:
    """Replace what lies between the page's ``name`` markers with ``text``; refuse a page without them."""
    begin, end = markers(name)
    content = page.read_text()
    if content.count(begin) != 1 or content.count(end) != 1:
        raise SystemExit(f"{page} must hold the markers {begin} and {end} once each, where the output goes.")
    head, rest = content.split(begin)
    page.write_text(f"{head}{begin}\n{text.strip()}\n{end}{rest.split(end, 1)[1]}")


class Tee(io.TextIOBase):
    """Standard output that is also kept: what a command prints, shown as it goes and written to a page after."""

    def __init__(self):
        self.kept = io.StringIO()
        self.shown = sys.stdout

    def write(self, text: str) -> int:
        self.shown.write(text)
        return self.kept.write(text)

    def flush(self) -> None:
        self.shown.flush()
