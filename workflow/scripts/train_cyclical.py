"""The later recipe's final training, one seed: tested at every cycle end, alone and as an ensemble."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.cyclical import CyclicalRecipe
from twolayer.stages.train_cyclical import train_cyclical

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    train_cyclical(
        snakemake.input.train,
        snakemake.input.test,
        snakemake.input.search_top,
        recipe=CyclicalRecipe(**snakemake.params.recipe),
        cycles=snakemake.params.cycles,
        validation=snakemake.params.validation,
        seed=snakemake.params.seed,
        replicate=snakemake.params.replicate,
        outputs=dict(snakemake.output.items()),
    )
