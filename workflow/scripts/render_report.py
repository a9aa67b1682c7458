"""Fill the report template from the run's files and render it to PDF."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages.render_report import render_report

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    render_report(
        dict(snakemake.input.items()),
        benchmark_rules=snakemake.params.benchmark_rules,
        config=snakemake.params.config,
        out_md=snakemake.output.markdown,
        out_pdf=snakemake.output.pdf,
        out_config=snakemake.output.config,
        out_software=snakemake.output.software,
        repo=snakemake.params.repo,
        shared_rules=snakemake.params.shared_rules,
    )
