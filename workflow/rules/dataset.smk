# From raw records to the dataset: each cell's files become Parquet tables,
# then all cells are gathered into results/dataset/ (documented in
# docs/dataset.md).


rule parse_cell:
    input:
        RAW,
    output:
        expand(f"{PARSED}/{{table}}.parquet", table=TABLES, allow_missing=True),
    log:
        f"results/logs/parse/{CELL}.log",
    conda:
        "../../environment.yml"
    resources:
        host=1,
    params:
        out=PARSED,
    message:
        "Parsing {input}"
    shell:
        "python -m scripts.cell {input} {params.out} 2>&1 | tee {log}"


rule aggregate:
    input:
        cells(f"{PARSED}/cells.parquet"),
    output:
        DATASET,
    log:
        "results/logs/aggregate.log",
    conda:
        "../../environment.yml"
    resources:
        host=1,
    params:
        cells=lambda w, input: [os.path.dirname(f) for f in input],
    message:
        "Gathering the cells into results/dataset/"
    shell:
        "python -m scripts.aggregate results/dataset {params.cells} 2>&1 | tee {log}"
