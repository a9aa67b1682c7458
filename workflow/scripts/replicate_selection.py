"""Train the fine search's top configurations again from fresh seeds and compare them."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages.replicate_selection import replicate_selection
from twolayer.stages.setup import TrainingSetup

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    replicate_selection(
        snakemake.input.train,
        snakemake.input.val,
        snakemake.input.top,
        replicates=snakemake.params.replicates,
        epochs=snakemake.params.epochs,
        setup=TrainingSetup(**snakemake.params.setup),
        seed=snakemake.params.seed,
        outputs=dict(snakemake.output.items()),
    )
