# Build the split files (uint8 pixels, labels, training mean), the class balance and samples.


rule prepare_data:
    input:
        batches=batch_files(),
        meta="resources/cifar-10-batches-py/batches.meta",
        code=package_code("cifar", "preprocess", "plots"),
    output:
        splits=expand("results/data/{split}.npz", split=SPLITS),
        class_balance="results/data/class_balance.csv",
        samples=report("results/data/samples.png", caption="../report/samples.rst", category="Data"),
    log:
        "results/logs/prepare_data/prepare_data.log",
    benchmark:
        "results/benchmarks/prepare_data/prepare_data.tsv"
    params:
        splits=split_batches(),
    resources:
        mem_mb=1000,
        runtime=10,
    threads: 1
    conda:
        "../envs/twolayer.yaml"
    script:
        "../scripts/prepare_data.py"
