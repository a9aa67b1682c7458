# The fine search's top configurations trained again from selection.replicates fresh
# seeds: their validation accuracy's mean and spread, and whether the chosen one (the
# search's top run, which the final training uses) is best beyond seed-to-seed noise.


rule replicate_selection:
    input:
        train=study("results/data/search_train.npz"),
        val=study("results/data/search_val.npz"),
        top=study("results/fine/top.csv"),
        code=stage_code("twolayer.stages.replicate_selection"),
    output:
        runs=study("results/selection/replicates.csv"),
        summary=report(
            study("results/selection/summary.csv"),
            caption="../report/selection_summary.rst",
            category="5. Selection",
            labels={"item": "the top configurations under fresh seeds"},
        ),
    log:
        study("results/logs/replicate_selection/replicate_selection.log"),
    benchmark:
        study("results/benchmarks/replicate_selection/replicate_selection.tsv")
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(JOB_MEMORY_MB["replicate_selection"]),
        runtime=on_attempt(30),
    params:
        replicates=config["selection"]["replicates"],
        epochs=config["fine"]["epochs"],
        setup=training_setup(),
        seed=config["seed"],
    script:
        "../scripts/replicate_selection.py"
