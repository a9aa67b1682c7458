# Fetch the CIFAR-10 python archive, then verify its md5 and extract the batches.


rule download_data:
    input:
        code=stage_code("twolayer.stages.download_data"),
    output:
        archive="resources/cifar-10-python.tar.gz",
    log:
        "results/logs/download_data/download_data.log",
    benchmark:
        "results/benchmarks/download_data/download_data.tsv"
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=30,
    params:
        url=config["data"]["url"],
        md5=config["data"]["md5"],
        # How to fetch, not what: an object Snakemake does not record, so changing
        # data.retries or data.timeout reruns nothing.
        transfer=transfer_settings(),
    script:
        "../scripts/download_data.py"


rule extract_data:
    input:
        archive="resources/cifar-10-python.tar.gz",
        code=stage_code("twolayer.stages.extract_data"),
    output:
        **archive_members(),
        source="results/data/source.json",
    log:
        "results/logs/extract_data/extract_data.log",
    benchmark:
        "results/benchmarks/extract_data/extract_data.tsv"
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        url=config["data"]["url"],
        md5=config["data"]["md5"],
        members={member_key(member): member for member in MEMBERS},
    script:
        "../scripts/extract_data.py"
