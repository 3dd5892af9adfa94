# papaya-bench: the CPU cost of a server's concurrency model.
# Run: snakemake --cores 1 [--config vcpus=4 ...]; keys in config/config.yaml.


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/build.smk"
include: "workflow/rules/measure.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        DATASET,
        "results/report.html",
