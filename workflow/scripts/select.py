"""Summarize a grid, select its top runs, draw its heat map and their learning curves."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages.select import select

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    select(
        snakemake.params.points,
        list(snakemake.input.histories),
        title=snakemake.params.title,
        k=snakemake.params.top,
        summary_csv=snakemake.output.summary,
        top_csv=snakemake.output.top,
        heatmap_png=snakemake.output.heatmap,
        curves_png=snakemake.output.curves,
    )
