"""The learning-rate range test of the later recipe: accuracy as the rate rises."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.cyclical import CyclicalRecipe
from twolayer.stages.cyclical_range_test import cyclical_range_test

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    cyclical_range_test(
        snakemake.input.train,
        recipe=CyclicalRecipe(**snakemake.params.recipe),
        settings=snakemake.params.settings,
        regularization=snakemake.params.regularization,
        validation=snakemake.params.validation,
        seed=snakemake.params.seed,
        outputs=dict(snakemake.output.items()),
    )
