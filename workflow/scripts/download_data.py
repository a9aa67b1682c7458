"""Fetch the dataset archive named in the config and verify its md5."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages.download_data import download_data

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    download_data(snakemake.params.url, snakemake.params.md5, snakemake.output.archive, snakemake.params.transfer)
