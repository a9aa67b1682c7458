# The fine search's top configurations, and those transfer.also adds, trained at full scale
# (final.epochs epochs on final_train minus transfer.held_out, scored on the held-out
# batches, never on the test set): does the search's choice hold when the configurations
# train as the final model does? One train_transfer job per seed (transfer.replicates)
# trains every configuration side by side; summarize_transfer gathers them. Off with
# transfer.enabled: false.


rule train_transfer:
    input:
        train=study("results/data/transfer_train.npz"),
        val=study("results/data/transfer_val.npz"),
        top=study("results/fine/top.csv"),
        code=stage_code("twolayer.stages.train_transfer"),
    output:
        runs=study("results/transfer/replicates/{transfer_replicate}/runs.csv"),
        history=study("results/transfer/replicates/{transfer_replicate}/history.csv"),
    log:
        study("results/logs/train_transfer/{transfer_replicate}.log"),
    benchmark:
        study("results/benchmarks/train_transfer/{transfer_replicate}.tsv")
    # The longest jobs of the study start first (then the final trainings, priority 1), so that
    # the shorter jobs fill the cores beside them instead of leaving one idle at the end
    # (docs/stages.md gives the times).
    priority: 2
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(JOB_MEMORY_MB.get("train_transfer", 500)),
        runtime=on_attempt(30),
    params:
        also=config["transfer"]["also"],
        replicate=transfer_replicate_index,
        evaluate_every=config["transfer"]["evaluate_every"],
        epochs=config["final"]["epochs"],
        setup=training_setup(),
        seed=config["seed"],
    script:
        "../scripts/train_transfer.py"


rule summarize_transfer:
    input:
        top=study("results/fine/top.csv"),
        runs=transfer_replicate_files("runs.csv"),
        histories=transfer_replicate_files("history.csv"),
        code=stage_code("twolayer.stages.summarize_transfer"),
    output:
        runs=study("results/transfer/runs.csv"),
        history=study("results/transfer/history.csv"),
        summary=report(
            study("results/transfer/summary.csv"),
            caption="../report/transfer_summary.rst",
            category="7. Full-scale check",
            labels={"item": "summary"},
        ),
        curves_png=report(
            study("results/transfer/curves.png"),
            caption="../report/transfer_curves.rst",
            category="7. Full-scale check",
            labels={"item": "held-out accuracy per epoch"},
        ),
    log:
        study("results/logs/summarize_transfer/summarize_transfer.log"),
    benchmark:
        study("results/benchmarks/summarize_transfer/summarize_transfer.tsv")
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(500),
        runtime=on_attempt(5),
    params:
        also=config["transfer"]["also"],
    script:
        "../scripts/summarize_transfer.py"
