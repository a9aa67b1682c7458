"""Train on a small subset once per momentum value and plot the curves."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages.study_momentum import study_momentum
from twolayer.stages.setup import TrainingSetup

snakemake: Snakemake  # injected by Snakemake when it runs the script

settings = snakemake.params.settings
with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    study_momentum(
        snakemake.input.split,
        samples=settings["samples"],
        learning_rate=settings["learning_rate"],
        epochs=settings["epochs"],
        momenta=settings["values"],
        regularization=settings["regularization"],
        decay=settings["decay"],
        setup=TrainingSetup(**snakemake.params.setup),
        seed=snakemake.params.seed,
        out_csv=snakemake.output.history,
        comparison_png=snakemake.output.comparison,
        panels_png=snakemake.output.panels,
        curve_pngs=[snakemake.output[f"curves_{index}"] for index, _ in enumerate(settings["values"])],
    )
