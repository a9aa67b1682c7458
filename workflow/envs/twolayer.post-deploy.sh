#!/usr/bin/env bash
# Install this workflow's package into the freshly created environment (its dependencies
# come from twolayer.yaml). Snakemake copies this script before running it, so the source
# folder comes from TWOLAYER_SOURCE, which the workflow sets to the folder of its
# Snakefile when it is parsed: it works from any --directory.
set -euo pipefail
source="${TWOLAYER_SOURCE:?TWOLAYER_SOURCE is not set: run this through the workflow (snakemake --use-conda)}"
python -m pip install --no-deps --no-build-isolation -e "$source"
