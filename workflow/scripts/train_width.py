"""One width of the hidden layer under the better recipe, one seed."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.cyclical import CyclicalRecipe
from twolayer.stages.setup import TrainingSetup
from twolayer.stages.train_width import train_width

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    train_width(
        snakemake.input.better,
        hidden_size=snakemake.params.width,
        replicate=snakemake.params.replicate,
        seed=snakemake.params.seed,
        cyclical={
            "train": snakemake.input.train,
            "test": snakemake.input.test,
            "search_top": snakemake.input.search_top,
            "recipe": CyclicalRecipe(**snakemake.params.recipe),
            "cycles": snakemake.params.cycles,
            "validation": snakemake.params.validation,
        },
        momentum={
            "train": snakemake.input.train,
            "test": snakemake.input.test,
            "meta": snakemake.input.meta,
            "fine_top": snakemake.input.fine_top,
            "setup": TrainingSetup(**snakemake.params.setup),
            "epochs": snakemake.params.epochs,
        },
        outputs=dict(snakemake.output.items()),
    )
