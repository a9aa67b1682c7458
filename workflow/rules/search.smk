# Grid searches over learning rate and regularization (coarse_search, fine_search),
# then a summary with the top runs (select_coarse, select_fine). With search_jobs: grid
# one job trains the whole grid side by side; with row, one job per regularization
# value; with point, one job per grid point. select_coarse is a checkpoint so that
# the fine grid can be derived from the coarse top runs (fine.grid_from: coarse); such
# a grid is unknown when the workflow is planned, so it always runs one job per point.


if search_jobs("coarse") == "grid":

    rule coarse_search:
        input:
            train="results/data/search_train.npz",
            val="results/data/search_val.npz",
            code=TRAINING_CODE,
        output:
            grid_histories("coarse"),
        log:
            "results/logs/coarse_search/coarse.log",
        benchmark:
            "results/benchmarks/coarse_search/coarse.tsv"
        params:
            grid="coarse",
            epochs=config["coarse"]["epochs"],
            setup=training_setup(),
            seed=config["seed"],
        resources:
            mem_mb=2000,
            runtime=30,
        threads: 1
        conda:
            "../envs/twolayer.yaml"
        script:
            "../scripts/train_grid_points.py"

elif search_jobs("coarse") == "row":

    rule coarse_search:
        input:
            train="results/data/search_train.npz",
            val="results/data/search_val.npz",
            code=TRAINING_CODE,
        output:
            expand("results/coarse/runs/lr{lr}_reg{{reg}}/history.csv", lr=learning_rate_ids("coarse")),
        log:
            "results/logs/coarse_search/reg{reg}.log",
        benchmark:
            "results/benchmarks/coarse_search/reg{reg}.tsv"
        params:
            grid="coarse",
            epochs=config["coarse"]["epochs"],
            setup=training_setup(),
            seed=config["seed"],
        resources:
            mem_mb=1000,
            runtime=15,
        threads: 1
        conda:
            "../envs/twolayer.yaml"
        script:
            "../scripts/train_grid_points.py"

else:

    rule coarse_search:
        input:
            train="results/data/search_train.npz",
            val="results/data/search_val.npz",
            code=TRAINING_CODE,
        output:
            "results/coarse/runs/{run}/history.csv",
        log:
            "results/logs/coarse_search/{run}.log",
        benchmark:
            "results/benchmarks/coarse_search/{run}.tsv"
        params:
            grid="coarse",
            epochs=config["coarse"]["epochs"],
            setup=training_setup(),
            seed=config["seed"],
        resources:
            mem_mb=1000,
            runtime=15,
        threads: 1
        conda:
            "../envs/twolayer.yaml"
        script:
            "../scripts/train_grid_points.py"


if search_jobs("fine") == "grid":

    rule fine_search:
        input:
            train="results/data/search_train.npz",
            val="results/data/search_val.npz",
            code=TRAINING_CODE,
        output:
            grid_histories("fine"),
        log:
            "results/logs/fine_search/fine.log",
        benchmark:
            "results/benchmarks/fine_search/fine.tsv"
        params:
            grid="fine",
            epochs=config["fine"]["epochs"],
            setup=training_setup(),
            seed=config["seed"],
        resources:
            mem_mb=2000,
            runtime=30,
        threads: 1
        conda:
            "../envs/twolayer.yaml"
        script:
            "../scripts/train_grid_points.py"

elif search_jobs("fine") == "row":

    rule fine_search:
        input:
            train="results/data/search_train.npz",
            val="results/data/search_val.npz",
            code=TRAINING_CODE,
        output:
            expand("results/fine/runs/lr{lr}_reg{{reg}}/history.csv", lr=learning_rate_ids("fine")),
        log:
            "results/logs/fine_search/reg{reg}.log",
        benchmark:
            "results/benchmarks/fine_search/reg{reg}.tsv"
        params:
            grid="fine",
            epochs=config["fine"]["epochs"],
            setup=training_setup(),
            seed=config["seed"],
        resources:
            mem_mb=1000,
            runtime=15,
        threads: 1
        conda:
            "../envs/twolayer.yaml"
        script:
            "../scripts/train_grid_points.py"

else:

    rule fine_search:
        input:
            train="results/data/search_train.npz",
            val="results/data/search_val.npz",
            code=TRAINING_CODE,
        output:
            "results/fine/runs/{run}/history.csv",
        log:
            "results/logs/fine_search/{run}.log",
        benchmark:
            "results/benchmarks/fine_search/{run}.tsv"
        params:
            grid="fine",
            epochs=config["fine"]["epochs"],
            setup=training_setup(),
            seed=config["seed"],
        resources:
            mem_mb=1000,
            runtime=15,
        threads: 1
        conda:
            "../envs/twolayer.yaml"
        script:
            "../scripts/train_grid_points.py"


checkpoint select_coarse:
    input:
        histories=grid_histories("coarse"),
        code=package_code("search", "plots", "stages"),
    output:
        summary="results/coarse/summary.csv",
        top="results/coarse/top3.csv",
        heatmap=report("results/coarse/heatmap.png", caption="../report/heatmap.rst", category="Coarse search"),
        curves=report("results/coarse/top3_curves.png", caption="../report/top_curves.rst", category="Coarse search"),
    log:
        "results/logs/select_coarse/select_coarse.log",
    benchmark:
        "results/benchmarks/select_coarse/select_coarse.tsv"
    params:
        top=config["selection"]["top"],
        title=grid_title("coarse"),
    resources:
        mem_mb=500,
        runtime=5,
    threads: 1
    conda:
        "../envs/twolayer.yaml"
    script:
        "../scripts/summarize_search.py"


rule select_fine:
    input:
        histories=fine_histories,
        code=package_code("search", "plots", "stages"),
    output:
        summary="results/fine/summary.csv",
        top="results/fine/top3.csv",
        heatmap=report("results/fine/heatmap.png", caption="../report/heatmap.rst", category="Fine search"),
        curves=report("results/fine/top3_curves.png", caption="../report/top_curves.rst", category="Fine search"),
    log:
        "results/logs/select_fine/select_fine.log",
    benchmark:
        "results/benchmarks/select_fine/select_fine.tsv"
    params:
        top=config["selection"]["top"],
        title=grid_title("fine"),
    resources:
        mem_mb=500,
        runtime=5,
    threads: 1
    conda:
        "../envs/twolayer.yaml"
    script:
        "../scripts/summarize_search.py"
