# Backpropagation against finite differences for the configured networks: the gate that
# fails the workflow, and the original study's table reproduced from this study's starting
# point and from the original one.


rule check_gradients:
    input:
        split=study("results/data/search_train.npz"),
        code=stage_code("twolayer.stages.check_gradients"),
    output:
        table=report(
            study("results/gradcheck/gradcheck.csv"),
            caption="../report/gradcheck.rst",
            category="2. Gradient check",
            labels={"item": "published table, reproduced"},
        ),
        gate=report(
            study("results/gradcheck/gate.csv"),
            caption="../report/gradcheck_gate.rst",
            category="2. Gradient check",
            labels={"item": "the gate"},
        ),
        magnitudes=report(
            study("results/gradcheck/magnitudes.csv"),
            caption="../report/gradcheck_magnitudes.rst",
            category="2. Gradient check",
            labels={"item": "gradient sizes over initial draws"},
        ),
    log:
        study("results/logs/check_gradients/check_gradients.log"),
    benchmark:
        study("results/benchmarks/check_gradients/check_gradients.tsv")
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(JOB_MEMORY_MB["check_gradients"]),
        runtime=on_attempt(10),
    params:
        settings=config["gradcheck"],
        training={key: config["training"][key] for key in ("weight_init", "bias_init")},
        seed=config["seed"],
    script:
        "../scripts/check_gradients.py"
