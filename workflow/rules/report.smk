# The report stage: statistics, charts and the HTML report. Their only
# declared inputs are the dataset's tables and their own code (cheap to
# rerun, so a change to it rebuilds them): rebuilding them from existing
# results measures nothing. The charts and the vCPU levels H2 asks about
# come from scripts/core/study.py (common.smk imports them).


rule stats:
    input:
        dataset=DATASET,
        code=code("scripts.analyse.stats"),
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
        "python -m scripts.core.hostlock stats -- python -m scripts.analyse.stats {params.dataset} {params.out} 2>&1 | tee {log}"


rule charts:
    input:
        summary="results/stats/summary.parquet",
        code=code("scripts.report.charts"),
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
        reference=REFERENCE,
        main_load=MAIN_LOAD,
    message:
        "Charts of the statistics"
    shell:
        "python -m scripts.core.hostlock charts -- python -m scripts.report.charts {input.summary} {params.out}"
        " --reference {params.reference:q} --main-load {params.main_load:q} 2>&1 | tee {log}"


# Everything the report states (hosts, kernel, CPU model, versions,
# settings) is in the dataset's cells table: a dataset alone, e.g. one
# merged from several hosts (merge_from) with no raw folders, is enough.
rule report:
    input:
        dataset=DATASET,
        summary="results/stats/summary.parquet",
        specs=expand("results/charts/{chart}.vl.json", chart=CHARTS),
        study_2022=["results/stats/study_2022.parquet"] if IMPORT else [],
        profiles=PROFILE_DATASET,
        profile_specs=(
            expand("results/charts/{chart}.vl.json", chart=PROFILE_CHARTS)
            if PROFILING
            else []
        ),
        switch_costs=SWITCH_COSTS,
        code=[*code("scripts.report"), *glob("scripts/report/templates/*")],
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
        reference=REFERENCE,
        main_load=MAIN_LOAD,
        describe=[f"{name}={text}" for name, text in DESCRIPTIONS.items()],
        exclude="--exclude-flagged" if config["exclude_flagged"] else "",
        study_2022=lambda w, input: (
            ["--study-2022", input.study_2022[0]] if input.study_2022 else []
        ),
        costs=lambda w, input: (
            (
                ["--profiles", os.path.dirname(input.profiles[0])]
                if input.profiles
                else []
            )
            + (["--switch-costs", input.switch_costs[0]] if input.switch_costs else [])
        ),
    message:
        "Writing the report: {output}"
    shell:
        "python -m scripts.core.hostlock report -- python -m scripts.report --dataset {params.dataset} --summary {input.summary}"
        " --charts {params.charts} --reference {params.reference:q}"
        " --main-load {params.main_load:q}"
        " --describe {params.describe:q} {params.exclude} {params.study_2022:q}"
        " {params.costs:q}"
        " --out {output} 2>&1 | tee {log}"
