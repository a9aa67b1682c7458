# The fine search's top configurations, and those transfer.also adds, trained at full scale
# (final.epochs epochs on final_train minus transfer.held_out, scored on the held-out
# batches, never on the test set) from transfer.replicates seeds: does the search's choice
# hold when the configurations train as the final model does? Off with transfer.enabled: false.


rule train_transfer:
    input:
        train="results/data/transfer_train.npz",
        val="results/data/transfer_val.npz",
        top="results/fine/top3.csv",
        code=stage_code("twolayer.stages.train_transfer"),
    output:
        runs="results/transfer/runs.csv",
        history="results/transfer/history.csv",
        summary="results/transfer/summary.csv",
        curves_png=report(
            "results/transfer/curves.png",
            caption="../report/transfer_curves.rst",
            category="Transfer to full scale",
        ),
    log:
        "results/logs/train_transfer/train_transfer.log",
    benchmark:
        "results/benchmarks/train_transfer/train_transfer.tsv"
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=JOB_MEMORY_MB.get("train_transfer", 500),
        runtime=60,
    params:
        also=config["transfer"]["also"],
        replicates=config["transfer"]["replicates"],
        epochs=config["final"]["epochs"],
        setup=training_setup(),
        seed=config["seed"],
    script:
        "../scripts/train_transfer.py"
