# Full-batch training on a small subset for each momentum value.


rule study_momentum:
    input:
        split=study("results/data/search_train.npz"),
        code=stage_code("twolayer.stages.study_momentum"),
    output:
        **momentum_report_figures(),
        history=study("results/momentum/history.csv"),
        comparison=report(
            study("results/momentum/comparison.png"),
            caption="../report/momentum.rst",
            category="3. Momentum",
            labels={"item": "all values, overlaid"},
        ),
        panels=report(
            study("results/momentum/panels.png"),
            caption="../report/momentum_panels.rst",
            category="3. Momentum",
            labels={"item": "one panel per value"},
        ),
    log:
        study("results/logs/study_momentum/study_momentum.log"),
    benchmark:
        study("results/benchmarks/study_momentum/study_momentum.tsv")
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(JOB_MEMORY_MB["study_momentum"]),
        runtime=on_attempt(10),
    params:
        settings=config["momentum"],
        setup=training_setup(),
        seed=config["seed"],
    script:
        "../scripts/study_momentum.py"
