# papaya-bench: the CPU cost of a server's concurrency model.
# Run: snakemake --cores 1 [--config vcpus=4 ...]; keys in config/README.md.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


# The description `snakemake --report` opens with.
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


# On a cluster these run on the submitting host: they are cheap, and
# queueing each would cost more than running it (as do merge or aggregate,
# whichever dataset.smk defines).
localrules:
    parse_cell,
    stats,
    charts,
    report,


include: "workflow/rules/build.smk"
include: "workflow/rules/measure.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/import.smk"
include: "workflow/rules/summary.smk"


if PROFILING:

    include: "workflow/rules/switchcost.smk"
    include: "workflow/rules/profile.smk"


rule all:
    default_target: True
    input:
        DATASET,
        CELL_TARGETS,
        IMPORT_TARGETS,
        PROFILE_DATASET,
        SWITCH_COSTS,
        "results/report.html",
