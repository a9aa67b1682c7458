"""Train the grid points of this job side by side and write each one's history."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages.search import search
from twolayer.stages.setup import TrainingSetup

snakemake: Snakemake  # injected by Snakemake when it runs the script

histories = list(snakemake.output)
with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    search(
        snakemake.input.train,
        snakemake.input.val,
        grid=snakemake.params.grid,
        points=snakemake.params.points,
        epochs=snakemake.params.epochs,
        setup=TrainingSetup(**snakemake.params.setup),
        seed=snakemake.params.seed,
        out_csvs=histories,
    )
