# The later recipe (cyclical learning rates, batches of 100, lambda searched on a log scale)
# as a second study on the same data: a learning-rate range test, a coarse then a fine
# random search of lambda, the final training from several seeds, the head-to-head with the
# earlier recipe's final trainings, other hidden-layer widths under the better recipe, and
# a summary with the section's figures. cyclical.enabled: true puts it in the default target
# and the report; the target rule cyclical builds it either way.


rule cyclical_range_test:
    input:
        train=study("results/data/final_train.npz"),
        code=stage_code("twolayer.stages.cyclical_range_test"),
    output:
        table=study("results/cyclical/range_test.csv"),
        figure=study("results/cyclical/range_test.png"),
    log:
        study("results/logs/cyclical_range_test/cyclical_range_test.log"),
    benchmark:
        study("results/benchmarks/cyclical_range_test/cyclical_range_test.tsv")
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(JOB_MEMORY_MB["cyclical_range_test"]),
        runtime=on_attempt(30),
    params:
        recipe=cyclical_recipe(),
        settings=config["cyclical"]["range_test"],
        regularization=config["cyclical"]["regularization"],
        validation=config["cyclical"]["validation"],
        seed=config["seed"],
    script:
        "../scripts/cyclical_range_test.py"


rule cyclical_search:
    input:
        unpack(cyclical_coarse_top),
        train=study("results/data/final_train.npz"),
        code=stage_code("twolayer.stages.cyclical_search"),
    output:
        runs=study("results/cyclical/search/{level}/runs.csv"),
        history=study("results/cyclical/search/{level}/history.csv"),
        top=study("results/cyclical/search/{level}/top.csv"),
    log:
        study("results/logs/cyclical_search/{level}.log"),
    benchmark:
        study("results/benchmarks/cyclical_search/{level}.tsv")
    priority: 2  # the longest jobs first, as the transfer stage's (workflow/rules/transfer.smk)
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(JOB_MEMORY_MB["cyclical_search"]),
        runtime=on_attempt(60),
    params:
        recipe=cyclical_recipe(),
        settings=config["cyclical"]["search"],
        validation=config["cyclical"]["validation"],
        seed=config["seed"],
    script:
        "../scripts/cyclical_search.py"


rule train_cyclical:
    input:
        train=study("results/data/final_train.npz"),
        test=study("results/data/test.npz"),
        search_top=study("results/cyclical/search/fine/top.csv"),
        code=stage_code("twolayer.stages.train_cyclical"),
    output:
        history=study("results/cyclical/final/{cyclical_replicate}/history.csv"),
        metrics=study("results/cyclical/final/{cyclical_replicate}/metrics.json"),
        snapshots=study("results/cyclical/final/{cyclical_replicate}/snapshots.csv"),
        schedule=study("results/cyclical/final/{cyclical_replicate}/schedule.csv"),
    log:
        study("results/logs/train_cyclical/{cyclical_replicate}.log"),
    benchmark:
        study("results/benchmarks/train_cyclical/{cyclical_replicate}.tsv")
    priority: 1
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(JOB_MEMORY_MB["train_cyclical"]),
        runtime=on_attempt(30),
    params:
        recipe=cyclical_recipe(),
        cycles=config["cyclical"]["final"]["cycles"],
        validation=config["cyclical"]["final_validation"],
        seed=config["seed"],
        replicate=cyclical_replicate_index,
    script:
        "../scripts/train_cyclical.py"


rule compare_recipes:
    input:
        cyclical=cyclical_final_files("metrics.json"),
        momentum=final_replicate_files("metrics.json"),
        momentum_histories=final_replicate_files("history.csv"),
        code=stage_code("twolayer.stages.compare_recipes"),
    output:
        table=study("results/cyclical/head_to_head.csv"),
        better=study("results/cyclical/better.json"),
    log:
        study("results/logs/compare_recipes/compare_recipes.log"),
    benchmark:
        study("results/benchmarks/compare_recipes/compare_recipes.tsv")
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(500),
        runtime=on_attempt(5),
    script:
        "../scripts/compare_recipes.py"


rule train_width:
    input:
        better=study("results/cyclical/better.json"),
        train=study("results/data/final_train.npz"),
        test=study("results/data/test.npz"),
        meta=archive_members()["batches_meta"],
        search_top=study("results/cyclical/search/fine/top.csv"),
        fine_top=study("results/fine/top.csv"),
        code=stage_code("twolayer.stages.train_width"),
    output:
        history=study(
            "results/cyclical/widths/{width}/{cyclical_replicate}/history.csv"
        ),
        metrics=study(
            "results/cyclical/widths/{width}/{cyclical_replicate}/metrics.json"
        ),
    log:
        study("results/logs/train_width/{width}_{cyclical_replicate}.log"),
    benchmark:
        study("results/benchmarks/train_width/{width}_{cyclical_replicate}.tsv")
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(JOB_MEMORY_MB["train_width"]),
        runtime=on_attempt(60),
    params:
        width=width_index,
        replicate=cyclical_replicate_index,
        recipe=cyclical_recipe(),
        cycles=config["cyclical"]["final"]["cycles"],
        validation=config["cyclical"]["final_validation"],
        setup=training_setup(),
        epochs=config["final"]["epochs"],
        seed=config["seed"],
    script:
        "../scripts/train_width.py"


rule summarize_cyclical:
    input:
        unpack(width_metric_inputs),
        coarse_runs=study("results/cyclical/search/coarse/runs.csv"),
        fine_runs=study("results/cyclical/search/fine/runs.csv"),
        fine_top=study("results/cyclical/search/fine/top.csv"),
        final_metrics=cyclical_final_files("metrics.json"),
        final_histories=cyclical_final_files("history.csv"),
        final_snapshots=cyclical_final_files("snapshots.csv"),
        schedule=cyclical_final_files("schedule.csv")[0],
        head_to_head=study("results/cyclical/head_to_head.csv"),
        better=study("results/cyclical/better.json"),
        momentum_metrics=final_replicate_files("metrics.json"),
        momentum_histories=final_replicate_files("history.csv"),
        published=repo_file("report/published.yaml"),
        code=stage_code("twolayer.stages.summarize_cyclical"),
    output:
        widths=study("results/cyclical/widths.csv"),
        width_runs=study("results/cyclical/width_runs.csv"),
        ensemble=study("results/cyclical/ensemble.csv"),
        schedule_png=study("results/cyclical/schedule.png"),
        curves_png=study("results/cyclical/curves.png"),
        search_png=study("results/cyclical/search.png"),
        head_to_head_png=study("results/cyclical/head_to_head.png"),
        widths_png=study("results/cyclical/widths.png"),
    log:
        study("results/logs/summarize_cyclical/summarize_cyclical.log"),
    benchmark:
        study("results/benchmarks/summarize_cyclical/summarize_cyclical.tsv")
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(1000),
        runtime=on_attempt(5),
    params:
        own_widths={
            "cyclical": config["cyclical"]["hidden_size"],
            "momentum": config["training"]["hidden_size"],
        },
        widths=width_sizes(),
    script:
        "../scripts/summarize_cyclical.py"
