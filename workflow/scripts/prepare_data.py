"""Write the split files, the class-balance table and the sample grid."""

from pathlib import Path

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages import prepare_data

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.threads):
    prepare_data(
        Path(snakemake.input.meta).parent,
        snakemake.params.splits,
        {Path(path).stem: path for path in snakemake.output.splits},
        snakemake.output.class_balance,
        snakemake.output.samples,
    )
