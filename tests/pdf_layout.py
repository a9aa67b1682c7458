"""How a report's PDF lays out: where each figure's caption falls among the headings, how empty each page is.

Positions are read from the PDF's own text (pymupdf), in reading order: page, then height
on the page. A heading is a line set larger than the body text; a figure's caption is a
line that starts "Figure N:".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pymupdf

# Headings are set at 12 pt and more; body text, captions and tables at 10 pt and less.
HEADING_SIZE = 11.5


@dataclass(frozen=True)
class Line:
    page: int
    top: float
    bottom: float
    text: str
    size: float

    @property
    def position(self) -> tuple[int, float]:
        return self.page, self.top


def read_lines(pdf: str | Path) -> tuple[list[Line], list[list[tuple[float, float]]], float]:
    """Every text line of the PDF; per page, the vertical extents of its text, images and drawings
    (page numbers left out); and the page height."""
    lines, extents = [], []
    with pymupdf.open(pdf) as document:
        height = document[0].rect.height
        for number, page in enumerate(document):
            spans = []
            for block in page.get_text("dict")["blocks"]:
                if block["type"] != 0:
                    spans.append((block["bbox"][1], block["bbox"][3]))
                    continue
                for line in block["lines"]:
                    text = "".join(span["text"] for span in line["spans"]).strip()
                    if not text:
                        continue
                    size = max(span["size"] for span in line["spans"])
                    lines.append(Line(number, line["bbox"][1], line["bbox"][3], text, size))
                    if not re.fullmatch(r"\d+", text):  # the page number in the footer
                        spans.append((line["bbox"][1], line["bbox"][3]))
            spans += [(drawing["rect"].y0, drawing["rect"].y1) for drawing in page.get_drawings()]
            extents.append(spans)
    return lines, extents, height


def headings(lines: list[Line]) -> list[Line]:
    return [line for line in lines if line.size >= HEADING_SIZE]


def captions(lines: list[Line]) -> list[Line]:
    return [line for line in lines if re.match(r"Figure\s\d+:", line.text)]


def figures_out_of_place(pdf: str | Path, sections: list[tuple[str, str | None]]) -> list[str]:
    """For figure k (1-based, in the order of ``sections``), whose Markdown puts it after the heading
    ``sections[k-1][0]`` and before ``sections[k-1][1]`` (None: the end), each figure whose caption
    the PDF does not set between those two headings."""
    lines, _, _ = read_lines(pdf)
    heads = headings(lines)
    found = {line.text: line for line in reversed(heads)}  # headings read "6.1 Coarse search"

    def heading(title: str) -> Line:
        matches = [line for text, line in found.items() if re.fullmatch(rf"[\d.]*\s*{re.escape(title)}", text)]
        assert len(matches) == 1, f"heading {title!r} is not in the PDF once: {[line.text for line in heads]}"
        return matches[0]

    shown = captions(lines)
    assert len(shown) == len(sections), f"{len(shown)} figure captions in the PDF, {len(sections)} figures in the Markdown"
    wrong = []
    for caption, (title, following) in zip(shown, sections):
        start = heading(title).position
        end = heading(following).position if following else (float("inf"), 0.0)
        if not start < caption.position < end:
            wrong.append(f"{caption.text[:50]!r} (page {caption.page + 1}) is not between {title!r} and {following!r}")
    return wrong


def empty_shares(pdf: str | Path) -> list[float]:
    """Per page, the share of the text area's height left empty below its last content."""
    _, extents, _ = read_lines(pdf)
    top = min(start for spans in extents for start, _ in spans)
    bottom = max(end for spans in extents for _, end in spans)
    return [(bottom - max((end for _, end in spans), default=top)) / (bottom - top) for spans in extents]


def figure_sections(markdown: str) -> list[tuple[str, str | None]]:
    """For each figure of a report.md, in order: the heading it follows and the next heading."""
    events = []
    for line in markdown.splitlines():
        if match := re.match(r"#+ (.+?)\s*(\{.*\})?$", line):
            events.append(("heading", match.group(1)))
        elif line.startswith("!["):
            events.append(("figure", None))
    sections = []
    for index, (kind, _) in enumerate(events):
        if kind != "figure":
            continue
        before = next(title for k, title in reversed(events[:index]) if k == "heading")
        after = next((title for k, title in events[index:] if k == "heading"), None)
        sections.append((before, after))
    return sections


# No page may be left more than this share empty, but the page before the appendix (which
# starts on a page of its own) and the last.
MOST_EMPTY = 0.25
APPENDIX = "Appendix: configuration of the run"


def layout_problems(pdf: str | Path, markdown: str) -> list[str]:
    """Figures outside their sections, and pages more than ``MOST_EMPTY`` empty, of a report's PDF
    (``markdown``: its report.md, which gives each figure's section)."""
    problems = figures_out_of_place(pdf, figure_sections(markdown))
    lines, _, _ = read_lines(pdf)
    appendix = next(line.page for line in headings(lines) if line.text == APPENDIX)
    shares = empty_shares(pdf)
    for page, share in enumerate(shares):
        if page not in (appendix - 1, len(shares) - 1) and share > MOST_EMPTY:
            problems.append(f"page {page + 1} is {share:.0%} empty")
    return problems
