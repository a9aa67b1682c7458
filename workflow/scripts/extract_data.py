"""Extract the batches of the dataset archive."""

from pathlib import Path

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages import extract_data

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.threads):
    extract_data(snakemake.input.archive, Path(snakemake.output.meta).parent)
