# Build the split files (uint8 pixels, labels, training mean), the class balance and samples.


rule prepare_data:
    input:
        **batch_files(),
        meta=archive_members()["batches_meta"],
        code=stage_code("twolayer.stages.prepare"),
    output:
        **split_files(),
        class_balance="results/data/class_balance.csv",
        samples=report(
            "results/data/samples.png",
            caption="../report/samples.rst",
            category="Data",
        ),
    log:
        "results/logs/prepare_data/prepare_data.log",
    benchmark:
        "results/benchmarks/prepare_data/prepare_data.tsv"
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MEMORY_MB["prepare_data"],
        runtime=10,
    params:
        splits=split_batches(),
        batches=batch_input_names(),
    script:
        "../scripts/prepare_data.py"
