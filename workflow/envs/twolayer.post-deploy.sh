#!/usr/bin/env bash
# Install this repository's package into the freshly created environment (dependencies
# come from twolayer.yaml). Snakemake runs this from the working directory, which must
# be the repository root.
set -euo pipefail
python -m pip install --no-deps --no-build-isolation -e .
