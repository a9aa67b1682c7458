#!/usr/bin/env bash
# Rebuild the reference run published with the code (reference/): the default study on the
# CIFAR-10 replica, in a study folder of its own, then its report and small tables copied
# beside the code with the machine and the date it was made on. Build the replica first
# (README.md, "Run the study"). CORES sets how many jobs run at once (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
snakemake --cores "${CORES:-2}" --configfile config/replica.yaml --config study_dir=runs/reference
python -m twolayer.reference runs/reference reference
