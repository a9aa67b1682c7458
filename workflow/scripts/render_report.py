"""Fill the report template from the run's files and render it to PDF."""

from dataclasses import fields

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.report import ReportInputs, write_report

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input):
    names = [field.name for field in fields(ReportInputs) if field.name != "benchmarks"]
    write_report(
        ReportInputs(
            **{name: snakemake.input[name] for name in names},
            benchmarks={rule: list(snakemake.input[f"benchmarks_{rule}"]) for rule in snakemake.params.benchmark_rules},
        ),
        config=snakemake.params.config,
        published_path=snakemake.input.published,
        template=snakemake.input.template,
        out_md=snakemake.output.markdown,
        out_pdf=snakemake.output.pdf,
        repo=snakemake.params.repo,
    )
