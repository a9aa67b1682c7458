# Grid searches over learning rate and regularization: one job per grid point
# (coarse_search, fine_search), then a summary with the top runs (select_coarse,
# select_fine). select_coarse is a checkpoint so that the fine grid can be derived from
# the coarse top runs (fine.grid_from: coarse).


rule coarse_search:
    input:
        train="results/data/search_train.npz",
        val="results/data/search_val.npz",
        code=TRAINING_CODE,
    output:
        history="results/coarse/runs/{run}/history.csv",
    log:
        "results/logs/coarse_search/{run}.log",
    benchmark:
        "results/benchmarks/coarse_search/{run}.tsv"
    params:
        grid="coarse",
        epochs=config["coarse"]["epochs"],
        setup=training_setup(),
        seed=config["seed"],
    threads: 1
    conda:
        "../envs/twolayer.yaml"
    script:
        "../scripts/train_grid_point.py"


use rule coarse_search as fine_search with:
    output:
        history="results/fine/runs/{run}/history.csv",
    log:
        "results/logs/fine_search/{run}.log",
    benchmark:
        "results/benchmarks/fine_search/{run}.tsv"
    params:
        grid="fine",
        epochs=config["fine"]["epochs"],
        setup=training_setup(),
        seed=config["seed"],


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
    threads: 1
    conda:
        "../envs/twolayer.yaml"
    script:
        "../scripts/summarize_search.py"
