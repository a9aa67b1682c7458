"""Write the split files, the class-balance table and the sample grid."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages.prepare import prepare_data

snakemake: Snakemake  # injected by Snakemake when it runs the script

splits = snakemake.params.splits
with job(snakemake.log[0], snakemake.threads):
    prepare_data(
        {batch: snakemake.input[key] for batch, key in snakemake.params.batches.items()},
        snakemake.input.meta,
        splits,
        {split: snakemake.output[split] for split in splits},
        snakemake.output.class_balance,
        snakemake.output.samples,
    )
