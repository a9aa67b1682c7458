"""Verify the dataset archive against data.md5, extract its batches and record what was checked."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages.extract_data import extract_data

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    extract_data(
        snakemake.input.archive,
        url=snakemake.params.url,
        md5=snakemake.params.md5,
        targets={member: snakemake.output[key] for key, member in snakemake.params.members.items()},
        out_json=snakemake.output.source,
    )
