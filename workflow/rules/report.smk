# Assemble the run's results into report/report.md and report/report.pdf.


rule render_report:
    input:
        unpack(report_benchmarks),
        **transfer_inputs(),
        **cyclical_inputs(),
        source=data_file("source.json"),
        class_balance=study("results/data/class_balance.csv"),
        samples_png=study("results/data/samples.png"),
        gradcheck=study("results/gradcheck/gradcheck.csv"),
        gradcheck_gate=study("results/gradcheck/gate.csv"),
        gradcheck_magnitudes=study("results/gradcheck/magnitudes.csv"),
        momentum=study("results/momentum/history.csv"),
        momentum_png=study("results/momentum/comparison.png"),
        momentum_panels_png=study("results/momentum/panels.png"),
        coarse_summary=study("results/coarse/summary.csv"),
        coarse_top=study("results/coarse/top.csv"),
        coarse_heatmap=study("results/coarse/heatmap.png"),
        coarse_curves=study("results/coarse/top_curves.png"),
        fine_summary=study("results/fine/summary.csv"),
        fine_top=study("results/fine/top.csv"),
        fine_heatmap=study("results/fine/heatmap.png"),
        fine_curves=study("results/fine/top_curves.png"),
        final_metrics=study("results/final/metrics.json"),
        final_history=study("results/final/history.csv"),
        final_per_class=study("results/final/per_class_accuracy.csv"),
        final_curves=study("results/final/learning_curves.png"),
        final_confusion_png=study("results/final/confusion_matrix.png"),
        final_replicates=study("results/final/replicates.csv"),
        final_statistics=study("results/final/replicate_statistics.csv"),
        final_per_class_statistics=study("results/final/per_class_statistics.csv"),
        selection_summary=study("results/selection/summary.csv"),
        final_confusion=study("results/final/confusion_matrix.csv"),
        template=repo_file("report/template.md.j2"),
        published=repo_file("report/published.yaml"),
        lock=repo_file("requirements.lock"),
        code=stage_code("twolayer.stages.render_report"),
    output:
        markdown=study("report/report.md"),
        pdf=report(
            study("report/report.pdf"),
            caption="../report/report_pdf.rst",
            category="8. Report",
            labels={"item": "the study's report"},
        ),
        config=study("report/configuration.json"),
        software=study("report/software.json"),
    log:
        study("results/logs/render_report/render_report.log"),
    benchmark:
        study("results/benchmarks/render_report/render_report.tsv")
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=on_attempt(1000),
        runtime=on_attempt(5),
    params:
        config=study_config(),
        benchmark_rules=benchmark_rules(),
        repo=repo_file("."),
        shared_rules=list(DATA_STORE_RULES),
    script:
        "../scripts/render_report.py"
