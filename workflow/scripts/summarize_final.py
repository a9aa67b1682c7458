"""Gather the final training's replicates into a table, their statistics and the figures."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages.summarize_final import summarize_final

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    summarize_final(
        snakemake.params.replicates,
        snakemake.input.metrics,
        snakemake.input.histories,
        snakemake.input.per_class,
        snakemake.input.confusion,
        outputs=dict(snakemake.output.items()),
    )
