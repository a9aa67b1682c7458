"""Record where the archive came from and the md5 it has, for the report."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages import describe_source

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.threads):
    describe_source(snakemake.params.url, snakemake.input.archive, snakemake.output.source)
