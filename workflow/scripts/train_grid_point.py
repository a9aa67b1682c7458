"""Train one point of a search grid and write its per-epoch history."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages import TrainingSetup, train_grid_point

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.threads):
    train_grid_point(
        snakemake.input.train,
        snakemake.input.val,
        grid=snakemake.params.grid,
        run=snakemake.wildcards.run,
        epochs=snakemake.params.epochs,
        setup=TrainingSetup(**snakemake.params.setup),
        seed=snakemake.params.seed,
        out_csv=snakemake.output.history,
    )
