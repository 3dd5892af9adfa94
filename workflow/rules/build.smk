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
    params:
        path=ENV_PATH,
        bin=lambda w: os.path.abspath(BIN),
    resources:
        host=1,
    log:
        "results/logs/build/{tool}.log",
    message:
        "Building {wildcards.tool}"
    shell:
        "PATH={params.path:q} make -s -C tools/{wildcards.tool} BIN={params.bin:q} > {log} 2>&1"


rule build_server:
    input:
        server_sources,
    output:
        touch(f"{BIN}/{{server}}.built"),
    params:
        path=ENV_PATH,
        build=lambda w: server_def(w)["build"].format(bin=os.path.abspath(BIN)),
    resources:
        host=1,
    log:
        "results/logs/build/{server}.log",
    message:
        "Building server {wildcards.server}"
    shell:
        "PATH={params.path:q} {params.build} > {log} 2>&1"
