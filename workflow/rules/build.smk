# Building the servers and the measurement tools from source. A build reruns
# only when its sources change, and so do the cells that use its output.


def server_def(wildcards):
    return config["server_defs"][wildcards.server]


def server_sources(wildcards):
    return [f for g in server_def(wildcards).get("sources", []) for f in glob(g)]


def tool_sources(wildcards):
    return glob(f"tools/{wildcards.tool}/*") + glob("common/*")


rule build_tool:
    input:
        tool_sources,
    output:
        f"{BIN}/{{tool}}",
    wildcard_constraints:
        tool="rusage|loadgen",
    resources:
        host=1,
    log:
        "results/logs/build/{tool}.log",
    message:
        "Building {wildcards.tool}"
    shell:
        'PATH="{ENV_PATH}" make -s -C tools/{wildcards.tool} BIN="$PWD/{BIN}" > {log} 2>&1'


rule build_server:
    input:
        server_sources,
    output:
        touch(f"{BIN}/{{server}}.built"),
    params:
        build=lambda w: server_def(w)["build"].format(bin=f'"$PWD/{BIN}"'),
    resources:
        host=1,
    log:
        "results/logs/build/{server}.log",
    message:
        "Building server {wildcards.server}"
    shell:
        'PATH="{ENV_PATH}" {params.build} > {log} 2>&1'
