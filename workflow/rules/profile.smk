# Kernel profiles: where each server's CPU time goes. A profile is a cell
# (the measure rule, the same load and the same valid-or-nothing rules) with
# perf recording the server's CPUs over the window, in a window of its own,
# so that sampling never touches the cells' figures. Its samples are then
# classified by config/attribution.tsv (scripts/parse/attribution.py) and
# gathered into the dataset's profile tables. profile: false turns it off.


use rule measure as profile with:
    output:
        directory(PROFILE_RAW),
    log:
        f"results/logs/profile/{CELL}.log",
    params:
        profile=[
            "--profile-event",
            config["profile_event"],
            "--profile-frequency",
            str(config["profile_frequency"]),
        ],
    message:
        "Profiling {wildcards.server}: {wildcards.vcpus} vCPUs, "
        "{wildcards.clients} clients, repetition {wildcards.repetition}, "
        "over {wildcards.network}, load {wildcards.load}"


# perf script resolves the kernel's symbols from this host's /proc/kallsyms:
# on a cluster it runs as a job of its own on a node of the same image.
rule parse_profile:
    input:
        raw=PROFILE_RAW,
        code=[*code("scripts.parse.profiles"), ATTRIBUTION],
    output:
        expand(
            f"{PROFILE_PARSED}/{{table}}.parquet",
            table=["profile", "stacks"],
            allow_missing=True,
        ),
    log:
        f"results/logs/profile-parse/{CELL}.log",
    conda:
        "../../environment.yml"
    resources:
        host=1,
    params:
        out=PROFILE_PARSED,
    message:
        "Classifying the samples of {input.raw}"
    shell:
        "python -m scripts.core.hostlock parse_profile -- python -m scripts.parse.profiles parse {input.raw} {params.out} 2>&1 | tee {log}"


localrules:
    profile_dataset,
    profile_charts,


rule profile_dataset:
    input:
        parsed=cells(f"{PROFILE_PARSED}/profile.parquet", PROFILE_REPETITIONS),
        code=[*code("scripts.parse.profiles"), ATTRIBUTION],
    output:
        PROFILE_DATASET,
    log:
        "results/logs/profile-dataset.log",
    conda:
        "../../environment.yml"
    resources:
        host=1,
    params:
        parsed=lambda w, input: [os.path.dirname(f) for f in input.parsed],
        out=lambda w, output: os.path.dirname(output[0]),
    message:
        "Gathering the profiles into results/dataset/"
    shell:
        "python -m scripts.core.hostlock profile_dataset -- python -m scripts.parse.profiles gather {params.out} {params.parsed} 2>&1 | tee {log}"


rule profile_charts:
    input:
        data=PROFILE_DATASET,
        code=[*code("scripts.report.profile_charts"), ATTRIBUTION],
    output:
        html=expand("results/charts/{chart}.html", chart=PROFILE_CHARTS),
        spec=expand("results/charts/{chart}.vl.json", chart=PROFILE_CHARTS),
        svg=[
            report(
                f"results/charts/{chart}.svg",
                caption=f"../report/{chart}.rst",
                category="H1",
            )
            for chart in PROFILE_CHARTS
        ],
    log:
        "results/logs/report/profile_charts.log",
    conda:
        "../../environment.yml"
    resources:
        host=1,
    params:
        dataset=lambda w, input: os.path.dirname(input.data[0]),
        out=lambda w, output: os.path.dirname(output.svg[0]),
        main_load=MAIN_LOAD,
    message:
        "Charts of the kernel profiles"
    shell:
        "python -m scripts.core.hostlock profile_charts -- python -m scripts.report.profile_charts {params.dataset} {params.out}"
        " --main-load {params.main_load:q} 2>&1 | tee {log}"
