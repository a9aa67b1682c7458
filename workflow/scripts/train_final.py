"""Train the best fine-search configuration on all training images (one replicate); test it."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages.train_final import train_final
from twolayer.stages.setup import TrainingSetup

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    train_final(
        snakemake.input.train,
        snakemake.input.test,
        snakemake.input.meta,
        snakemake.input.fine_top,
        epochs=snakemake.params.epochs,
        setup=TrainingSetup(**snakemake.params.setup),
        seed=snakemake.params.seed,
        outputs=dict(snakemake.output.items()),
        replicate=snakemake.params.replicate,
    )
