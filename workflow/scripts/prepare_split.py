"""Write one split file from its batches."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages.prepare_split import prepare_split

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    prepare_split(list(snakemake.input.batches), snakemake.output.split)
