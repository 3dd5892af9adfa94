# From raw records to the dataset: each cell's files become Parquet tables,
# then all cells are gathered into results/dataset/ (documented in
# docs/dataset.md).


rule parse_cell:
    input:
        RAW,
    output:
        expand(f"{PARSED}/{{table}}.parquet", table=TABLES, allow_missing=True),
    params:
        out=PARSED,
    resources:
        host=1,
    log:
        f"results/logs/parse/{CELL}.log",
    message:
        "Parsing {input}"
    shell:
        "{PYTHON} -m scripts.cell {input} {params.out} 2>&1 | tee {log}"


rule aggregate:
    input:
        cells(f"{PARSED}/cells.parquet"),
    output:
        DATASET,
    params:
        cells=lambda w, input: [os.path.dirname(f) for f in input],
    resources:
        host=1,
    log:
        "results/logs/aggregate.log",
    message:
        "Gathering the cells into results/dataset/"
    shell:
        "{PYTHON} -m scripts.aggregate results/dataset {params.cells} 2>&1 | tee {log}"
