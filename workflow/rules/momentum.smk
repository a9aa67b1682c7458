# Full-batch training on a small subset for each momentum value.


rule study_momentum:
    input:
        split=study("results/data/search_train.npz"),
        code=stage_code("twolayer.stages.study_momentum"),
    output:
        history=study("results/momentum/history.csv"),
        comparison=report(
            study("results/momentum/comparison.png"),
            caption="../report/momentum.rst",
            category="Momentum",
        ),
        panels=report(
            study("results/momentum/panels.png"),
            caption="../report/momentum_panels.rst",
            category="Momentum",
        ),
        curves=report(
            momentum_figures(),
            caption="../report/momentum_single.rst",
            category="Momentum",
        ),
    log:
        study("results/logs/study_momentum/study_momentum.log"),
    benchmark:
        study("results/benchmarks/study_momentum/study_momentum.tsv")
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MEMORY_MB["study_momentum"],
        runtime=10,
    params:
        settings=config["momentum"],
        setup=training_setup(),
        seed=config["seed"],
    script:
        "../scripts/study_momentum.py"
