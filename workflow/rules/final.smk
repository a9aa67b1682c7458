# Train the best fine-search configuration on all training images and test it, once per
# replicate (final.replicates): replicate 0 is the study's model, the others train the
# same configuration from other seeds. summarize_final gathers them.


rule train_final:
    input:
        train=study("results/data/final_train.npz"),
        test=study("results/data/test.npz"),
        meta=archive_members()["batches_meta"],
        fine_top=study("results/fine/top.csv"),
        code=stage_code("twolayer.stages.train_final"),
    output:
        history=study("results/final/history.csv"),
        metrics=study("results/final/metrics.json"),
        confusion=study("results/final/confusion_matrix.csv"),
        per_class=study("results/final/per_class_accuracy.csv"),
        model=study("results/final/model.npz"),
    log:
        study("results/logs/train_final/train_final.log"),
    benchmark:
        study("results/benchmarks/train_final/train_final.tsv")
    priority: 1  # after the transfer stage's longer jobs, before the short ones (workflow/rules/transfer.smk)
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(JOB_MEMORY_MB["train_final"]),
        runtime=on_attempt(30),
    params:
        epochs=config["final"]["epochs"],
        setup=training_setup(),
        seed=config["seed"],
        replicate=0,
    script:
        "../scripts/train_final.py"


use rule train_final as train_final_replicate with:
    output:
        history=study("results/final/replicates/{replicate}/history.csv"),
        metrics=study("results/final/replicates/{replicate}/metrics.json"),
        confusion=study("results/final/replicates/{replicate}/confusion_matrix.csv"),
        per_class=study("results/final/replicates/{replicate}/per_class_accuracy.csv"),
    log:
        study("results/logs/train_final_replicate/{replicate}.log"),
    benchmark:
        study("results/benchmarks/train_final_replicate/{replicate}.tsv")
    params:
        epochs=config["final"]["epochs"],
        setup=training_setup(),
        seed=config["seed"],
        replicate=replicate_index,


rule summarize_final:
    input:
        metrics=final_replicate_files("metrics.json"),
        histories=final_replicate_files("history.csv"),
        per_class=final_replicate_files("per_class_accuracy.csv"),
        confusion=final_replicate_file(0, "confusion_matrix.csv"),
        code=stage_code("twolayer.stages.summarize_final"),
    output:
        table=study("results/final/replicates.csv"),
        statistics=report(
            study("results/final/replicate_statistics.csv"),
            caption="../report/final_statistics.rst",
            category="6. Final training",
            labels={"item": "statistics over the replicates"},
        ),
        per_class=study("results/final/per_class_statistics.csv"),
        curves_png=report(
            study("results/final/learning_curves.png"),
            caption="../report/final_curves.rst",
            category="6. Final training",
            labels={"item": "learning curves"},
        ),
        confusion_png=report(
            study("results/final/confusion_matrix.png"),
            caption="../report/confusion.rst",
            category="6. Final training",
            labels={"item": "confusion matrix, replicate 0"},
        ),
    log:
        study("results/logs/summarize_final/summarize_final.log"),
    benchmark:
        study("results/benchmarks/summarize_final/summarize_final.tsv")
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(500),
        runtime=on_attempt(5),
    params:
        replicates=final_replicates(),
    script:
        "../scripts/summarize_final.py"
