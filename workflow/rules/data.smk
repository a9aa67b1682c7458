# Fetch the CIFAR-10 python archive, then verify its md5 and extract the batches.
# Both write into the data store resources/<md5>/ (data_file), logs and benchmarks included:
# every study folder of the checkout finds them there and none reruns them.


rule download_data:
    input:
        code=stage_code("twolayer.stages.download_data"),
    output:
        archive=data_file("cifar-10-python.tar.gz"),
    log:
        data_file("logs/download_data.log"),
    benchmark:
        data_file("benchmarks/download_data.tsv")
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(500),
        runtime=on_attempt(30),
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
        archive=data_file("cifar-10-python.tar.gz"),
        code=stage_code("twolayer.stages.extract_data"),
    output:
        **archive_members(),
        source=data_file("source.json"),
    log:
        data_file("logs/extract_data.log"),
    benchmark:
        data_file("benchmarks/extract_data.tsv")
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(500),
        runtime=on_attempt(10),
    params:
        url=config["data"]["url"],
        md5=config["data"]["md5"],
        members={member_key(member): member for member in MEMBERS},
    script:
        "../scripts/extract_data.py"
