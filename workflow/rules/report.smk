# Assemble the run's results into report/report.md and report/report.pdf.


rule render_report:
    input:
        unpack(report_benchmarks),
        **transfer_inputs(),
        source="results/data/source.json",
        search_train="results/data/search_train.npz",
        class_balance="results/data/class_balance.csv",
        samples_png="results/data/samples.png",
        gradcheck="results/gradcheck/gradcheck.csv",
        gradcheck_gate="results/gradcheck/gate.csv",
        momentum="results/momentum/history.csv",
        momentum_png="results/momentum/comparison.png",
        momentum_panels_png="results/momentum/panels.png",
        coarse_summary="results/coarse/summary.csv",
        coarse_top="results/coarse/top3.csv",
        coarse_heatmap="results/coarse/heatmap.png",
        coarse_curves="results/coarse/top3_curves.png",
        fine_summary="results/fine/summary.csv",
        fine_top="results/fine/top3.csv",
        fine_heatmap="results/fine/heatmap.png",
        fine_curves="results/fine/top3_curves.png",
        final_metrics="results/final/metrics.json",
        final_history="results/final/history.csv",
        final_per_class="results/final/per_class_accuracy.csv",
        final_curves="results/final/learning_curves.png",
        final_confusion_png="results/final/confusion_matrix.png",
        final_replicates="results/final/replicates.csv",
        final_statistics="results/final/replicate_statistics.csv",
        final_per_class_statistics="results/final/per_class_statistics.csv",
        selection_summary="results/selection/summary.csv",
        final_confusion="results/final/confusion_matrix.csv",
        template=repo_file("report/template.md.j2"),
        published=repo_file("report/published.yaml"),
        code=stage_code("twolayer.stages.render_report"),
    output:
        markdown="report/report.md",
        pdf="report/report.pdf",
    log:
        "results/logs/render_report/render_report.log",
    benchmark:
        "results/benchmarks/render_report/render_report.tsv"
    conda:
        "../envs/twolayer.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        config=study_config(),
        benchmark_rules=benchmark_rules(),
        repo=workflow.basedir,
    script:
        "../scripts/render_report.py"
