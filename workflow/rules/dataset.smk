# From raw records to the dataset: each cell's files become Parquet tables,
# then all cells are gathered into results/dataset/ (documented in
# docs/dataset.md). Both run inside Snakemake's process (run:), since a
# Python and pandas start-up per cell would cost more than the parsing.


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
    run:
        log_to(log[0], lambda: write_tables(parse_cell(input[0]), Path(params.out)))


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
        out=lambda w, output: os.path.dirname(output[0]),
    message:
        "Gathering the cells into results/dataset/"
    run:
        log_to(log[0], lambda: write_tables(aggregate(params.cells), Path(params.out)))
