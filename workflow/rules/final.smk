# Train the best fine-search configuration on all training images and test it.


rule train_final:
    input:
        train="results/data/final_train.npz",
        test="results/data/test.npz",
        meta=archive_members()["batches_meta"],
        fine_top="results/fine/top3.csv",
        code=stage_code("twolayer.stages.final"),
    output:
        history="results/final/history.csv",
        metrics="results/final/metrics.json",
        confusion="results/final/confusion_matrix.csv",
        per_class="results/final/per_class_accuracy.csv",
        model="results/final/model.npz",
        curves_png=report(
            "results/final/learning_curves.png",
            caption="../report/final_curves.rst",
            category="Final training",
        ),
        confusion_png=report(
            "results/final/confusion_matrix.png",
            caption="../report/confusion.rst",
            category="Final training",
        ),
    log:
        "results/logs/train_final/train_final.log",
    benchmark:
        "results/benchmarks/train_final/train_final.tsv"
    conda:
        "../envs/twolayer.yaml"
    threads: 2
    resources:
        mem_mb=JOB_MEMORY_MB["train_final"],
        runtime=30,
    params:
        epochs=config["final"]["epochs"],
        setup=training_setup(),
        seed=config["seed"],
    script:
        "../scripts/train_final.py"
