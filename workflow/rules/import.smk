# Another study's top logs (config key import), read beside the measured
# cells, and its table recomputed from them, by its own rule and by ours
# (scripts/dataset/imported.py, scripts/analyse/table2022.py).


if IMPORT:

    localrules:
        import_logs,
        study_2022,

    rule import_logs:
        input:
            logs=IMPORT_LOGS,
            code=code("scripts.dataset.imported"),
        output:
            IMPORTED,
        log:
            "results/logs/import.log",
        conda:
            "../../environment.yml"
        resources:
            host=1,
        params:
            folders=IMPORT,
        message:
            "Importing the top logs of {params.folders}"
        shell:
            "python -m scripts.core.hostlock import_logs -- python -m scripts.dataset.imported {output} {params.folders:q} 2>&1 | tee {log}"

    rule study_2022:
        input:
            imported=IMPORTED,
            code=code("scripts.analyse.table2022"),
        output:
            csv="results/stats/study_2022.csv",
            table="results/stats/study_2022.parquet",
        log:
            "results/logs/report/study_2022.log",
        conda:
            "../../environment.yml"
        resources:
            host=1,
        params:
            out=lambda w, output: os.path.dirname(output.csv),
        message:
            "The 2022 study's table, by its rule and by ours"
        shell:
            "python -m scripts.core.hostlock study_2022 -- python -m scripts.analyse.table2022 {input.imported} {params.out} 2>&1 | tee {log}"
