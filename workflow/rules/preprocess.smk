# Build each split file (uint8 pixels, labels, training mean) from its own batches alone, so
# changing one split's batches rebuilds that split and what reads it; then describe the
# splits: their class balance and a grid of sample images.


rule prepare_split:
    input:
        batches=split_batch_files,
        code=stage_code("twolayer.stages.prepare_split"),
    output:
        split=study("results/data/{split}.npz"),
    log:
        study("results/logs/prepare_split/{split}.log"),
    benchmark:
        study("results/benchmarks/prepare_split/{split}.tsv")
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(JOB_MEMORY_MB["prepare_split"]),
        runtime=on_attempt(10),
    params:
        batches=lambda wildcards: SPLIT_BATCHES[wildcards.split],
    script:
        "../scripts/prepare_split.py"


rule describe_data:
    input:
        **split_files(),
        meta=archive_members()["batches_meta"],
        code=stage_code("twolayer.stages.describe_data"),
    output:
        class_balance=study("results/data/class_balance.csv"),
        samples=report(
            study("results/data/samples.png"),
            caption="../report/samples.rst",
            category="1. Data",
            labels={"item": "sample images"},
        ),
    log:
        study("results/logs/describe_data/describe_data.log"),
    benchmark:
        study("results/benchmarks/describe_data/describe_data.tsv")
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(JOB_MEMORY_MB["describe_data"]),
        runtime=on_attempt(10),
    params:
        splits=list(SPLITS),
    script:
        "../scripts/describe_data.py"
