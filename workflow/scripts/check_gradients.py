"""Check backpropagation against finite differences; fail on any disagreement above the gate's bound."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages.check_gradients import check_gradients

snakemake: Snakemake  # injected by Snakemake when it runs the script

settings = snakemake.params.settings
with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    check_gradients(
        snakemake.input.split,
        samples=settings["samples"],
        networks=settings["networks"],
        gate=settings["gate"],
        published=settings["published"],
        weight_init=snakemake.params.training["weight_init"],
        bias_init=snakemake.params.training["bias_init"],
        seed=snakemake.params.seed,
        out_csv=snakemake.output.table,
        gate_csv=snakemake.output.gate,
        magnitudes_csv=snakemake.output.magnitudes,
    )
