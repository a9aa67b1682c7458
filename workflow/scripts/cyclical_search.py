"""One level (coarse or fine) of the later recipe's random search of lambda on a log scale."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.cyclical import CyclicalRecipe
from twolayer.stages.cyclical_search import cyclical_search

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    cyclical_search(
        snakemake.input.train,
        level=snakemake.wildcards.level,
        recipe=CyclicalRecipe(**snakemake.params.recipe),
        settings=snakemake.params.settings,
        validation=snakemake.params.validation,
        seed=snakemake.params.seed,
        outputs=dict(snakemake.output.items()),
        coarse_top=snakemake.input.get("coarse_top"),
    )
