"""Stage render_report: the report's Markdown and PDF from the run's files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import yaml

from ..io import write_json
from ..report import build_context, render_markdown, render_pdf


def render_report(
    inputs: Mapping[str, str],
    benchmark_rules: Sequence[str],
    config: Mapping,
    out_md: str | Path,
    out_pdf: str | Path,
    out_config: str | Path,
    out_software: str | Path,
    repo: str | Path,
    shared_rules: Sequence[str] = (),
) -> dict:
    """Fill ``inputs["template"]`` from the run's files, write report.md (GitHub-flavoured) and report.pdf,
    and ``config`` (the report's appendix) as ``out_config``, which a later run compares itself with
    (``twolayer.config.study_replacement``), and the commit and software of the run as
    ``out_software``, which ``twolayer.compare`` sets against another study's.

    ``inputs``: the rule's input files by name, passed whole (the rule is the one place that
    names them); ``benchmarks_<rule>`` holds the benchmark files of each rule in ``benchmark_rules``;
    ``shared_rules`` are those whose jobs live in the data store, shared by the checkout's studies.
    """
    benchmarks = {rule: list(inputs[f"benchmarks_{rule}"]) for rule in benchmark_rules}
    published = yaml.safe_load(Path(inputs["published"]).read_text())
    context = build_context(inputs, benchmarks, config, published, Path(out_md).parent, repo, shared_rules)
    render_markdown(inputs["template"], context, out_md, flavour="gfm")
    # The PDF is made from a pandoc-flavoured sibling of report.md, beside it so that the
    # figures' relative links hold, and removed once the PDF is written.
    sibling = Path(out_md).with_name(f".{Path(out_md).stem}.pandoc.md")
    try:
        render_markdown(inputs["template"], context, sibling, flavour="pandoc")
        render_pdf(sibling, out_pdf, context["figures"])
    finally:
        sibling.unlink(missing_ok=True)
    write_json(dict(config), out_config)
    write_json({"commit": context["provenance"]["commit"], "versions": context["provenance"]["versions"]}, out_software)
    return context
