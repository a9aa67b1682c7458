#!/usr/bin/env bash
# Rebuild the reference run published with the code (reference/): the default study on the
# CIFAR-10 replica, in a study folder of its own, then its report and small tables copied
# beside the code with the machine and the date it was made on. Build the replica first
# (README.md, "Run the study"). CORES sets how many jobs run at once (default 2).
# The report names the commit it was made from, so the code must be committed: the report is
# rendered again even when nothing else changed, to name the current commit.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "$(git status --porcelain --untracked-files=no -- . ':!reference')" ]; then
    echo "tools/reference.sh: the checkout has uncommitted changes outside reference/; commit them first," \
         "so that the reference run names a commit that holds its code (git status shows them)." >&2
    exit 1
fi
snakemake --cores "${CORES:-2}" --configfile config/replica.yaml --config study_dir=runs/reference \
    --forcerun render_report
python -m twolayer.reference runs/reference reference
