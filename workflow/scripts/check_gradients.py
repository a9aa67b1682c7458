"""Compare backpropagation with finite differences; fail above the configured bound."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages import check_gradients

snakemake: Snakemake  # injected by Snakemake when it runs the script

settings = snakemake.params.settings
with job(snakemake.log[0], snakemake.threads):
    check_gradients(
        snakemake.input.split,
        samples=settings["samples"],
        networks=settings["networks"],
        h=settings["h"],
        method=settings["method"],
        bound=settings["max_rel_error"],
        seed=snakemake.params.seed,
        out_csv=snakemake.output.table,
    )
