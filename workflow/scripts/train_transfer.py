"""Train the fine search's top configurations, and the added ones, at full scale: one seed."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages.setup import TrainingSetup
from twolayer.stages.train_transfer import train_transfer

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    train_transfer(
        snakemake.input.train,
        snakemake.input.val,
        snakemake.input.top,
        also=snakemake.params.also,
        replicate=snakemake.params.replicate,
        epochs=snakemake.params.epochs,
        setup=TrainingSetup(**snakemake.params.setup),
        seed=snakemake.params.seed,
        outputs=dict(snakemake.output.items()),
        evaluate_every=snakemake.params.evaluate_every,
    )
