"""The two recipes' final networks head to head on the test set."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages.compare_recipes import compare_recipes

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    compare_recipes(
        list(snakemake.input.cyclical),
        list(snakemake.input.momentum),
        list(snakemake.input.momentum_histories),
        outputs=dict(snakemake.output.items()),
    )
