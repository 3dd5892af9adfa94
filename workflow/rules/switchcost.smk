# What one context switch costs on this host, per vCPU level: the
# ping-pong microbenchmarks of scripts/measure/switchcost.py (processes and threads
# over pipes, goroutines over channels, each with its messages priced
# alone), gathered into the dataset's switch_costs table. H1's cost figures
# set the profiles' scheduler share against them.


rule switchcost:
    input:
        switchcost=f"{BIN}/switchcost",
        goswitch=f"{BIN}/goswitch",
        code=code("scripts.measure.switchcost"),
    output:
        "results/switchcost/vcpus{vcpus}.json",
    log:
        "results/logs/switchcost/vcpus{vcpus}.log",
    conda:
        "../../environment.yml"
    resources:
        host=HOST,
        slurm_partition=slurm_partition,
        slurm_extra="'--exclusive'",
    params:
        runs=config["switch_runs"],
    message:
        "Pricing one context switch for {wildcards.vcpus} vCPUs"
    shell:
        "python -m scripts.measure.switchcost measure --switchcost {input.switchcost}"
        " --goswitch {input.goswitch} --vcpus {wildcards.vcpus} --runs {params.runs}"
        " --out {output} > {log} 2>&1"


localrules:
    switch_costs,


rule switch_costs:
    input:
        runs=expand("results/switchcost/vcpus{vcpus}.json", vcpus=VCPUS),
        code=code("scripts.parse.switchcost"),
    output:
        SWITCH_COSTS,
    log:
        "results/logs/switchcost/gather.log",
    conda:
        "../../environment.yml"
    resources:
        host=1,
    message:
        "Gathering the context-switch costs into {output}"
    shell:
        "python -m scripts.core.hostlock switch_costs -- python -m scripts.parse.switchcost {output} {input.runs} > {log} 2>&1"
