"""Gather the later recipe: the widths' and the ensemble's verdicts, and the section's figures."""

from snakemake.iocontainers import Snakemake

from twolayer.jobs import job
from twolayer.stages.summarize_cyclical import summarize_cyclical

snakemake: Snakemake  # injected by Snakemake when it runs the script

with job(snakemake.log[0], snakemake.input, snakemake.scriptdir):
    inputs = {key: value for key, value in snakemake.input.items() if not key.startswith("width_")}
    inputs["width_metrics"] = {size: list(snakemake.input[f"width_{size}"]) for size in snakemake.params.widths}
    summarize_cyclical(inputs, own_widths=snakemake.params.own_widths, outputs=dict(snakemake.output.items()))
