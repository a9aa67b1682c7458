"""Train the grid points of this job side by side and write each one's history."""

from pathlib import Path

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages import TrainingSetup, train_grid_points

snakemake: Snakemake  # injected by Snakemake when it runs the script

histories = list(snakemake.output)
with job(snakemake.log[0], snakemake.threads):
    train_grid_points(
        snakemake.input.train,
        snakemake.input.val,
        grid=snakemake.params.grid,
        runs=[Path(path).parent.name for path in histories],
        epochs=snakemake.params.epochs,
        setup=TrainingSetup(**snakemake.params.setup),
        seed=snakemake.params.seed,
        out_csvs=histories,
    )
