# Grid searches over learning rate and regularization (search_coarse, and search_fine:
# the same rule with the fine grid's files and settings), then a summary of each grid
# with its top runs (select, wildcard grid). With search_jobs: grid
# one job trains the whole grid side by side; with row, one job per regularization
# value; with point, one job per grid point. select is a checkpoint so that
# the fine grid can be derived from the coarse top runs (fine.grid_from: coarse); such
# a grid is unknown when the workflow is planned, so it always runs one job per point.


rule search_coarse:
    input:
        train=study("results/data/search_train.npz"),
        val=study("results/data/search_val.npz"),
        code=stage_code("twolayer.stages.search"),
    output:
        search_job("coarse")["histories"],
    log:
        search_job("coarse")["log"],
    benchmark:
        search_job("coarse")["benchmark"]
    # On a cluster, the grid's jobs (seconds each) go out together as one job (profiles/slurm).
    group:
        "search_coarse"
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(search_job("coarse")["mem_mb"]),
        runtime=on_attempt(30),
    params:
        grid="coarse",
        points=search_job_points("coarse"),
        epochs=config["coarse"]["epochs"],
        setup=training_setup(),
        seed=config["seed"],
    script:
        "../scripts/search.py"


use rule search_coarse as search_fine with:
    output:
        search_job("fine")["histories"],
    log:
        search_job("fine")["log"],
    benchmark:
        search_job("fine")["benchmark"]
    group:
        "search_fine"
    resources:
        mem_mb=on_attempt(search_job("fine")["mem_mb"]),
        runtime=on_attempt(30),
    params:
        grid="fine",
        points=search_job_points("fine"),
        epochs=config["fine"]["epochs"],
        setup=training_setup(),
        seed=config["seed"],


checkpoint select:
    input:
        histories=grid_histories,
        code=stage_code("twolayer.stages.select"),
    output:
        summary=study("results/{grid}/summary.csv"),
        top=report(
            study("results/{grid}/top.csv"),
            caption="../report/top_table.rst",
            category="4. Grid searches",
            subcategory="{grid} grid",
            labels={"grid": "{grid}", "item": "top runs"},
        ),
        heatmap=report(
            study("results/{grid}/heatmap.png"),
            caption="../report/heatmap.rst",
            category="4. Grid searches",
            subcategory="{grid} grid",
            labels={"grid": "{grid}", "item": "heat map"},
        ),
        curves=report(
            study("results/{grid}/top_curves.png"),
            caption="../report/top_curves.rst",
            category="4. Grid searches",
            subcategory="{grid} grid",
            labels={"grid": "{grid}", "item": "top runs' learning curves"},
        ),
    log:
        study("results/logs/select/{grid}.log"),
    benchmark:
        study("results/benchmarks/select/{grid}.tsv")
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(500),
        runtime=on_attempt(5),
    params:
        points=grid_points_param,
        top=config["selection"]["top"],
        title=grid_title,
    script:
        "../scripts/select.py"
