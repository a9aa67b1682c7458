# Grid searches over learning rate and regularization (coarse_search, fine_search),
# then a summary with the top runs (select_coarse, select_fine). With search_jobs: grid
# one job trains the whole grid side by side; with row, one job per regularization
# value; with point, one job per grid point. select_coarse is a checkpoint so that
# the fine grid can be derived from the coarse top runs (fine.grid_from: coarse); such
# a grid is unknown when the workflow is planned, so it always runs one job per point.


rule coarse_search:
    input:
        train="results/data/search_train.npz",
        val="results/data/search_val.npz",
        code=stage_code("twolayer.stages.search"),
    output:
        search_job("coarse")["histories"],
    log:
        search_job("coarse")["log"],
    benchmark:
        search_job("coarse")["benchmark"]
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=search_job("coarse")["mem_mb"],
        runtime=30,
    params:
        grid="coarse",
        points=search_job_points("coarse"),
        epochs=config["coarse"]["epochs"],
        setup=training_setup(),
        seed=config["seed"],
    script:
        "../scripts/train_grid_points.py"


use rule coarse_search as fine_search with:
    output:
        search_job("fine")["histories"],
    log:
        search_job("fine")["log"],
    benchmark:
        search_job("fine")["benchmark"]
    resources:
        mem_mb=search_job("fine")["mem_mb"],
        runtime=30,
    params:
        grid="fine",
        points=search_job_points("fine"),
        epochs=config["fine"]["epochs"],
        setup=training_setup(),
        seed=config["seed"],


checkpoint select_coarse:
    input:
        histories=grid_histories("coarse"),
        code=stage_code("twolayer.stages.selection"),
    output:
        summary="results/coarse/summary.csv",
        top="results/coarse/top3.csv",
        heatmap=report(
            "results/coarse/heatmap.png",
            caption="../report/heatmap.rst",
            category="Coarse search",
        ),
        curves=report(
            "results/coarse/top3_curves.png",
            caption="../report/top_curves.rst",
            category="Coarse search",
        ),
    log:
        "results/logs/select_coarse/select_coarse.log",
    benchmark:
        "results/benchmarks/select_coarse/select_coarse.tsv"
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        points=grid_points_param("coarse"),
        top=config["selection"]["top"],
        title=grid_title("coarse"),
    script:
        "../scripts/summarize_search.py"


rule select_fine:
    input:
        histories=grid_histories("fine"),
        code=stage_code("twolayer.stages.selection"),
    output:
        summary="results/fine/summary.csv",
        top="results/fine/top3.csv",
        heatmap=report(
            "results/fine/heatmap.png",
            caption="../report/heatmap.rst",
            category="Fine search",
        ),
        curves=report(
            "results/fine/top3_curves.png",
            caption="../report/top_curves.rst",
            category="Fine search",
        ),
    log:
        "results/logs/select_fine/select_fine.log",
    benchmark:
        "results/benchmarks/select_fine/select_fine.tsv"
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        points=grid_points_param("fine"),
        top=config["selection"]["top"],
        title=grid_title("fine"),
    script:
        "../scripts/summarize_search.py"
