"""Write the class-balance table and the sample grid of the split files."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages.describe_data import describe_data

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    describe_data(
        {split: snakemake.input[split] for split in snakemake.params.splits},
        snakemake.input.meta,
        snakemake.output.class_balance,
        snakemake.output.samples,
    )
