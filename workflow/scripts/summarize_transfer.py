"""Gather the full-scale trainings' seeds: runs, histories, their statistics and a figure."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages.summarize_transfer import summarize_transfer

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    summarize_transfer(
        snakemake.input.top,
        also=snakemake.params.also,
        runs_paths=list(snakemake.input.runs),
        history_paths=list(snakemake.input.histories),
        outputs=dict(snakemake.output.items()),
    )
