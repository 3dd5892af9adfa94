# One job per cell: the server under load, recorded by top, /proc and
# getrusage. Changing a load or top setting reruns the cells it affects
# (Snakemake's params trigger); a rebuilt server reruns its own cells.


rule measure:
    input:
        unpack(measure_inputs),
        code=code("scripts.measure"),
    output:
        directory(RAW),
    log:
        f"results/logs/measure/{CELL}.log",
    conda:
        "../../environment.yml"
    threads: lambda w: int(w.vcpus) + 1
    resources:
        host=HOST,
        # On Slurm: the vCPU level's partition, the server's CPUs plus one
        # for loadgen and the samplers, and the node to itself.
        slurm_partition=slurm_partition,
        cpus_per_task=lambda w: int(w.vcpus) + 1,
        slurm_extra="'--exclusive'",
        runtime=lambda w: 10 + config["top_frames"] * config["top_delay"] // 60,
    params:
        command=lambda w: server_def(w)["command"].format(bin=BIN),
        server=server_options,
        rate=rate_options,
        message=config["message"],
        load=load_options,
        warmup=config["warmup"],
        top_frames=config["top_frames"],
        top_delay=config["top_delay"],
        load_tolerance=config["load_tolerance"],
        cadence_tolerance=config["cadence_tolerance"],
        slow_cadence=config["slow_cadence"],
        quiet_wait=config["quiet_wait"],
        retries=config["retries"],
        shared="--allow-shared-cpus" if config["allow_shared_cpus"] else "",
        fail_flagged="--fail-flagged" if config["fail_flagged"] else "",
        network=network_options,
        profile=[],
    message:
        "Measuring {wildcards.server}: {wildcards.vcpus} vCPUs, "
        "{wildcards.clients} clients, repetition {wildcards.repetition}, "
        "over {wildcards.network}, load {wildcards.load}"
    shell:
        "python -m scripts.measure"
        " --server {wildcards.server} --server-cmd {params.command:q} {params.server:q}"
        " --rusage {input.rusage} --loadgen {input.loadgen}"
        " --vcpus {wildcards.vcpus} --clients {wildcards.clients}"
        " --repetition {wildcards.repetition} {params.rate:q}"
        " --message {params.message:q} --load {wildcards.load} {params.load:q}"
        " --warmup {params.warmup} --top-frames {params.top_frames}"
        " --top-delay {params.top_delay} --load-tolerance {params.load_tolerance}"
        " --cadence-tolerance {params.cadence_tolerance} --slow-cadence {params.slow_cadence}"
        " --quiet-wait {params.quiet_wait} --retries {params.retries}"
        " {params.shared} {params.fail_flagged} --network {wildcards.network} {params.network:q}"
        " {params.profile:q} --out {output} 2>&1 | tee {log}"
