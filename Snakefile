# Reproducible CIFAR-10 study of a two-layer network written from scratch in NumPy.
#
#   snakemake --cores 8                  rebuild everything (the target rule all)
#   snakemake --cores 8 gradcheck        one stage and what it needs: data, gradcheck, momentum,
#                                        coarse, fine, selection, final, transfer, report (target rules at the bottom)
#   snakemake --cores 8 --forcerun check_gradients gradcheck    recompute one stage (and what uses it)
#
# results/
#   data/        split files (.npz), class_balance.csv, samples.png
#   gradcheck/   gate.csv (the gate), gradcheck.csv (the published table, reproduced)
#   momentum/    history.csv, comparison.png, momentum_<m>.png
#   coarse/      runs/<run_id>/history.csv, summary.csv, top.csv, heatmap.png, top_curves.png
#   fine/        the same for the fine grid
#   selection/   replicates.csv (the fine top runs from fresh seeds), summary.csv (their statistics)
#   transfer/    runs.csv, history.csv, summary.csv, curves.png: the fine top configurations
#                (and transfer.also) trained at full scale, scored on held-out training batches
#   final/       replicate 0: history.csv, metrics.json, confusion_matrix.csv, per_class_accuracy.csv,
#                model.npz; replicates/<r>/ the others' history, metrics and tables;
#                replicates.csv, replicate_statistics.csv, per_class_statistics.csv,
#                learning_curves.png (replicate 0 in the band of all replicates), confusion_matrix.png
#   logs/, benchmarks/   one log and one benchmark file per job
# report/        report.md and report.pdf, assembled from the files above; configuration.json, the
#                configuration they were made from (a run with another one says it replaces them)
#                software.json, the commit and software versions (python -m twolayer.compare reads both)
# resources/<md5>/   each archive, its extracted batches and source.json (the md5 checked), in a
#                    folder named by its md5:
#                    shared by every study of the checkout, never overwritten by another source
#
# results/ and report/ are those of the study folder, config study_dir: the checkout itself by
# default, runs/<name> for the small configurations (config/smoke.yaml, config/single-seed.yaml,
# config/no-transfer.yaml).
# config/local.yaml, when present (git-ignored), is read after config.yaml and before any
# --configfile: the place for this checkout's own choices, such as the data source.

import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

# The workflow plans, and its jobs run, with the package beside it, whatever else the
# environment has installed (another checkout's, say); each job checks it (twolayer.jobs).
PACKAGE_ROOT = Path(workflow.basedir).resolve() / "src"
sys.path.insert(0, str(PACKAGE_ROOT))
from twolayer.jobs import put_package_first

put_package_first(PACKAGE_ROOT)


# Each configuration file is read as untrusted data first (a regular file, bounded in size, in
# nesting and in expanded aliases): Snakemake's own reading would wait on a FIFO for ever and name
# no file. The files given with --configfile Snakemake reads before this file runs; common.smk
# checks them as it validates the configuration.
from twolayer.config import check_config_file

check_config_file("config.yaml")


configfile: "config.yaml"


if Path("config/local.yaml").exists():
    check_config_file("config/local.yaml")

    configfile: "config/local.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/gradcheck.smk"
include: "workflow/rules/momentum.smk"
include: "workflow/rules/search.smk"
include: "workflow/rules/selection.smk"
include: "workflow/rules/final.smk"
include: "workflow/rules/transfer.smk"
include: "workflow/rules/cyclical.smk"
include: "workflow/rules/report.smk"


# Jobs of a second or less, and the download (cluster nodes often have no internet), run where
# Snakemake runs, not as cluster jobs.
localrules:
    download_data,
    extract_data,
    prepare_split,
    describe_data,
    select,
    summarize_final,
    summarize_transfer,
    compare_recipes,
    summarize_cyclical,
    render_report,


onsuccess:
    print_headline()


rule all:
    default_target: True
    input:
        study_outputs,


rule data:
    input:
        data_outputs(),


rule gradcheck:
    input:
        gradcheck_outputs(),


rule momentum:
    input:
        momentum_outputs(),


rule coarse:
    input:
        grid_outputs("coarse"),


rule fine:
    input:
        grid_outputs("fine"),


rule selection:
    input:
        selection_outputs(),


rule final:
    input:
        final_outputs(),


rule transfer:
    input:
        transfer_outputs(),


rule cyclical:
    input:
        cyclical_outputs(),


rule report:
    input:
        report_outputs(),
