# Building the servers and the measurement tools from source. A build reruns
# only when its sources change, and so do the cells that use its output.
# Builds hold the host's lock shared (scripts/core/hostlock.py): never beside a
# measurement of another run.


rule build_tool:
    input:
        tool_sources,
    output:
        f"{BIN}/{{tool}}",
    log:
        "results/logs/build/{tool}.log",
    wildcard_constraints:
        tool="rusage|loadgen|switchcost|goswitch",
    conda:
        "../../environment.yml"
    resources:
        host=1,
    params:
        bin=lambda w, output: os.path.dirname(output[0]),
    message:
        "Building {wildcards.tool}"
    shell:
        "python -m scripts.core.hostlock build --"
        ' make -s -C tools/{wildcards.tool} BIN="$PWD/{params.bin}" > {log} 2>&1'


rule build_server:
    input:
        server_sources,
    output:
        touch(f"{BIN}/{{server}}.built"),
    log:
        "results/logs/build/{server}.log",
    conda:
        "../../environment.yml"
    resources:
        host=1,
    params:
        build=lambda w: server_def(w)["build"].format(bin=f'"$PWD/{BIN}"'),
    message:
        "Building server {wildcards.server}"
    shell:
        "python -m scripts.core.hostlock build -- sh -c {params.build:q} > {log} 2>&1"
