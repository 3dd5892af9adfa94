# From raw records to the dataset: each cell's files become Parquet tables,
# then all cells are gathered into results/dataset/ (documented in
# docs/dataset.md). They are shell commands, not run: blocks: Snakemake runs
# a run: block in a fresh Snakemake process that takes seconds to start.
# With merge_from, the dataset is instead gathered from other result
# folders (one per VM, say), and nothing is measured.


rule parse_cell:
    input:
        raw=RAW,
        code=code("scripts.parse.cell"),
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
        "Parsing {input.raw}"
    shell:
        "python -m scripts.core.hostlock parse_cell -- python -m scripts.parse.cell {input.raw} {params.out} 2>&1 | tee {log}"


if MERGE_FROM:

    localrules:
        merge,

    rule merge:
        input:
            data=expand(
                "{folder}/dataset/{table}.parquet", folder=MERGE_FROM, table=TABLES
            ),
            code=code("scripts.dataset.merge"),
        output:
            DATASET,
        log:
            "results/logs/merge.log",
        conda:
            "../../environment.yml"
        resources:
            host=1,
        params:
            folders=MERGE_FROM,
            out=lambda w, output: os.path.dirname(output[0]),
        message:
            "Merging the datasets of {params.folders} into results/dataset/"
        shell:
            "python -m scripts.core.hostlock merge -- python -m scripts.dataset.merge {params.out} {params.folders:q} 2>&1 | tee {log}"

else:

    localrules:
        aggregate,

    rule aggregate:
        input:
            cells=cells(f"{PARSED}/cells.parquet"),
            code=code("scripts.dataset.aggregate"),
        output:
            DATASET,
        log:
            "results/logs/aggregate.log",
        conda:
            "../../environment.yml"
        resources:
            host=1,
        params:
            cells=lambda w, input: [os.path.dirname(f) for f in input.cells],
            out=lambda w, output: os.path.dirname(output[0]),
        message:
            "Gathering the cells into results/dataset/"
        shell:
            "python -m scripts.core.hostlock aggregate -- python -m scripts.dataset.aggregate {params.out} {params.cells} 2>&1 | tee {log}"
