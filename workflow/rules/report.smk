# The report stage: statistics, charts and the HTML report. Their only
# declared inputs are the dataset's tables and their own code (cheap to
# rerun, so a change to it rebuilds them): rebuilding them from existing
# results measures nothing.

# The charts scripts.charts draws (its CHARTS; tests/test_report.py keeps the
# two in step). Listed here so that parsing the workflow needs no Altair.
CHARTS = [
    "h1_cpu",
    "h1_user_system",
    "h1_ctx_switches",
    "h1_cv",
    "h2_cost_vcpus",
    "h2_ratio",
]
# The study's question, not the matrix measured: H2 asks for these vCPU
# levels and compares these two servers; the report names what is missing.
EXPECTED_VCPUS = [1, 2, 4]
COMPARE = ["papayachat", "goroutines"]


rule stats:
    input:
        dataset=DATASET,
        code="scripts/stats.py",
    output:
        summary="results/stats/summary.parquet",
        table=report(
            "results/stats/summary.csv",
            caption="../report/summary.rst",
            category="Tables",
        ),
    log:
        "results/logs/report/stats.log",
    conda:
        "../../environment.yml"
    resources:
        host=1,
    params:
        dataset=lambda w, input: os.path.dirname(input.dataset[0]),
        out=lambda w, output: os.path.dirname(output.summary),
    message:
        "Statistics per server, vCPUs and clients"
    shell:
        "python -m scripts.stats {params.dataset} {params.out} 2>&1 | tee {log}"


rule charts:
    input:
        summary="results/stats/summary.parquet",
        code="scripts/charts.py",
    output:
        html=expand("results/charts/{chart}.html", chart=CHARTS),
        spec=expand("results/charts/{chart}.vl.json", chart=CHARTS),
        svg=[
            report(
                f"results/charts/{chart}.svg",
                caption=f"../report/{chart}.rst",
                category=chart.split("_")[0].upper(),
            )
            for chart in CHARTS
        ],
    log:
        "results/logs/report/charts.log",
    conda:
        "../../environment.yml"
    resources:
        host=1,
    params:
        out=lambda w, output: os.path.dirname(output.svg[0]),
        expected_vcpus=EXPECTED_VCPUS,
        compare=COMPARE,
    message:
        "Charts of the statistics"
    shell:
        "python -m scripts.charts {input.summary} {params.out}"
        " --expected-vcpus {params.expected_vcpus} --compare {params.compare}"
        " 2>&1 | tee {log}"


# Everything the report states (hosts, kernel, CPU model, versions,
# settings) is in the dataset's cells table: a dataset alone, e.g. one
# merged from several hosts (merge_from) with no raw folders, is enough.
rule report:
    input:
        dataset=DATASET,
        summary="results/stats/summary.parquet",
        specs=expand("results/charts/{chart}.vl.json", chart=CHARTS),
        code=["scripts/report.py", "scripts/report_template.html"],
    output:
        report(
            "results/report.html",
            caption="../report/report.rst",
            category="Report",
        ),
    log:
        "results/logs/report/report.log",
    conda:
        "../../environment.yml"
    resources:
        host=1,
    params:
        dataset=lambda w, input: os.path.dirname(input.dataset[0]),
        charts=lambda w, input: os.path.dirname(input.specs[0]),
        expected_vcpus=EXPECTED_VCPUS,
        compare=COMPARE,
    message:
        "Writing the report: {output}"
    shell:
        "python -m scripts.report --dataset {params.dataset} --summary {input.summary}"
        " --charts {params.charts}"
        " --expected-vcpus {params.expected_vcpus} --compare {params.compare}"
        " --out {output} 2>&1 | tee {log}"
