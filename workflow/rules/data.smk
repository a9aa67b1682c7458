# Fetch the CIFAR-10 python archive, verify its md5, and extract the batches.


rule download_data:
    output:
        archive="resources/cifar-10-python.tar.gz",
    log:
        "results/logs/download_data/download_data.log",
    benchmark:
        "results/benchmarks/download_data/download_data.tsv"
    params:
        url=config["data"]["url"],
        md5=config["data"]["md5"],
        retries=config["data"].get("retries", 3),
        timeout=config["data"].get("timeout", 60),
    resources:
        mem_mb=500,
        runtime=30,
    threads: 1
    conda:
        "../envs/twolayer.yaml"
    script:
        "../scripts/download_data.py"


rule extract_data:
    input:
        archive="resources/cifar-10-python.tar.gz",
    output:
        batches=expand("resources/cifar-10-batches-py/{batch}", batch=["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]),
        meta="resources/cifar-10-batches-py/batches.meta",
    log:
        "results/logs/extract_data/extract_data.log",
    benchmark:
        "results/benchmarks/extract_data/extract_data.tsv"
    resources:
        mem_mb=500,
        runtime=10,
    threads: 1
    conda:
        "../envs/twolayer.yaml"
    script:
        "../scripts/extract_data.py"


rule describe_source:
    input:
        archive="resources/cifar-10-python.tar.gz",
    output:
        source="results/data/source.json",
    log:
        "results/logs/describe_source/describe_source.log",
    benchmark:
        "results/benchmarks/describe_source/describe_source.tsv"
    params:
        url=config["data"]["url"],
    resources:
        mem_mb=500,
        runtime=10,
    threads: 1
    conda:
        "../envs/twolayer.yaml"
    script:
        "../scripts/describe_source.py"
