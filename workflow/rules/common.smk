# Configuration: validation, the matrix of cells, and the paths they use.
# Every check here runs before any job, so a bad value stops the run at once.
import os
import re
from glob import glob
from pathlib import Path
import sys

import yaml

from snakemake.exceptions import WorkflowError

sys.path.insert(0, workflow.basedir)
from scripts.core.codedeps import code_of
from scripts.core.config import ConfigError, check, check_command, typed
from scripts.host.cpus import CpuPlanError, plan_cpus
from scripts.dataset.imported import LogImportError, log_files
from scripts.core.loadshape import LoadShapeError, check_messages, main_label, shapes
from scripts.host.netpath import PATHS, plan_paths
from scripts.core.study import (
    CHARTS,
    EXPECTED_VCPUS,
    PROFILE_CHARTS,
    PROFILE_TABLES,
    TABLES,
)

# Command-line values are read as YAML, as config.yaml is, and every
# error names its key.
with open(os.path.join(workflow.basedir, "workflow/schemas/config.schema.yaml")) as f:
    SCHEMA = yaml.safe_load(f)
config.update(typed(config, SCHEMA))
try:
    check(config, SCHEMA)
except ConfigError as exc:
    raise WorkflowError(str(exc))


def as_list(value):
    return sorted(set(value if isinstance(value, list) else [value]))


# A name of server_sets stands for its servers, in its order (the first is
# the default reference).
if isinstance(config["servers"], str) and config["servers"] in config["server_sets"]:
    config["servers"] = config["server_sets"][config["servers"]]
SERVERS = as_list(config["servers"])
VCPUS = as_list(config["vcpus"])
CLIENTS = as_list(config["clients"])
REPETITIONS = list(range(1, config["repetitions"] + 1))
# Profiles (workflow/rules/profile.smk) run in windows of their own.
PROFILE_REPETITIONS = list(range(1, config["profile_repetitions"] + 1))
# The load's shapes (write cadence, phases, bursts), by label: a dimension.
try:
    LOADS = shapes(config)
    check_messages(config, CLIENTS)
except LoadShapeError as exc:
    raise WorkflowError(str(exc))
MAIN_LOAD = main_label(LOADS)

# The server every other is compared with: the first of servers as given
# (SERVERS is sorted).
REFERENCE = config["reference_server"] or (
    config["servers"][0] if isinstance(config["servers"], list) else config["servers"]
)
DESCRIPTIONS = {
    name: d["description"]
    for name, d in config["server_defs"].items()
    if "description" in d
}

unknown = [s for s in SERVERS if s not in config["server_defs"]]
if unknown:
    raise WorkflowError(
        f"config key servers: unknown server(s) {', '.join(unknown)}; "
        f"declared in server_defs: {', '.join(config['server_defs'])}"
    )
for name in SERVERS:
    try:
        check_command(name, config["server_defs"][name]["command"])
    except ConfigError as exc:
        raise WorkflowError(str(exc))
MERGE_FROM = [os.path.normpath(f) for f in config["merge_from"]]
for folder in MERGE_FROM:
    # Its dataset is this run's output, which Snakemake removes before the
    # merge starts: merging it into itself would lose it.
    if os.path.realpath(folder) == os.path.realpath("results"):
        raise WorkflowError(
            f"config key merge_from: {folder} is this run's own results folder "
            "(copy it elsewhere first, or merge from another checkout)"
        )
    if not os.path.isfile(os.path.join(folder, "dataset", "cells.parquet")):
        raise WorkflowError(
            f"config key merge_from: {folder} holds no dataset/cells.parquet "
            "(give results/ folders of finished runs)"
        )
if MERGE_FROM:
    from scripts.dataset.merge import MergeError, check_folders

    try:
        check_folders(MERGE_FROM)
    except MergeError as exc:
        raise WorkflowError(f"config key merge_from: {exc}")
# Another study's logs, imported beside the cells (workflow/rules/import.smk).
IMPORT = [os.path.normpath(f) for f in config["import"]]
try:
    IMPORT_LOGS = [str(p) for folder in IMPORT for p in log_files(Path(folder))]
except LogImportError as exc:
    raise WorkflowError(f"config key import: {exc}")
IMPORTED = "results/dataset/imported_frames.parquet"
IMPORT_TARGETS = [IMPORTED, "results/stats/study_2022.csv"] if IMPORT else []
# A merged dataset holds the servers of its folders, whatever servers says:
# scripts.report then checks that the reference is among them.
if REFERENCE not in SERVERS and not MERGE_FROM:
    raise WorkflowError(
        f"config key reference_server: {REFERENCE} is not among the servers measured "
        f"({', '.join(SERVERS)})"
    )
# Merging measures nothing, and on a cluster the cells run on other hosts
# (whose CPUs scripts.measure checks there): this host's CPUs matter only
# for a local run that measures.
LOCAL_RUN = workflow.is_main_process and workflow.local_exec
for v in VCPUS if LOCAL_RUN and not MERGE_FROM else []:
    try:
        plan_cpus(v, os.sched_getaffinity(0), config["allow_shared_cpus"])
    except CpuPlanError as exc:
        raise WorkflowError(f"config key vcpus: {exc}")
# How the load reaches the server: a dimension of the matrix. The default
# falls back to loopback where namespaces are not permitted, and says so.
try:
    NETWORKS, NETWORK_FALLBACK = plan_paths(
        config["network"],
        config["loadgen_host"],
        config["server_address"],
        LOCAL_RUN and not MERGE_FROM,
    )
except ValueError as exc:
    raise WorkflowError(str(exc))
if NETWORK_FALLBACK:
    print(f"network: {NETWORK_FALLBACK}: measuring over loopback", file=sys.stderr)


# Jobs use the Python and tools of the environment Snakemake runs in (the
# venv's bin also holds the Go toolchain), whether or not it was activated.
# Set here rather than passed as params: moving the checkout or the venv
# must not rerun every cell.
envvars:
    "PATH",


os.environ["PATH"] = f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"

BIN = "results/bin"
CELL = "{server}/{network}/{load}/vcpus{vcpus}/clients{clients}/rep{repetition}"
RAW = f"results/raw/{CELL}"
PARSED = f"results/parsed/{CELL}"
DATASET = expand("results/dataset/{table}.parquet", table=TABLES)
PROFILE_RAW = f"results/profiles/raw/{CELL}"
PROFILE_PARSED = f"results/profiles/parsed/{CELL}"
# H1 in cost terms: the kernel profiles and the price of a switch, which
# the report sets against them. A merged dataset measures nothing here: its
# folders' profiles are not gathered (the report says none were recorded).
PROFILING = config["profile"] and not MERGE_FROM
SWITCH_COSTS = ["results/dataset/switch_costs.parquet"] if PROFILING else []
PROFILE_DATASET = (
    expand("results/dataset/{table}.parquet", table=PROFILE_TABLES) if PROFILING else []
)


def cells(pattern, repetitions=REPETITIONS):
    return expand(
        pattern,
        server=SERVERS,
        network=NETWORKS,
        load=LOADS,
        vcpus=VCPUS,
        clients=CLIENTS,
        repetition=repetitions,
    )


# Each cell's parsed tables are targets, not only the dataset's inputs:
# Snakemake does not remake a missing intermediate file while what was
# made from it is up to date (that is how temp() works), so a cell deleted
# by hand would stay in the dataset. As a target, it is measured again.
CELL_TARGETS = (
    []
    if MERGE_FROM
    else cells(f"{PARSED}/cells.parquet")
    + (
        cells(f"{PROFILE_PARSED}/profile.parquet", PROFILE_REPETITIONS)
        if PROFILING
        else []
    )
)


def server_def(wildcards):
    return config["server_defs"][wildcards.server]


def server_sources(wildcards):
    return [f for g in server_def(wildcards).get("sources", []) for f in glob(g)]


def tool_sources(wildcards):
    return glob(f"tools/{wildcards.tool}/*") + glob("common/*")


# The Python modules a job imports count as its inputs: Snakemake sees
# only the code written in the workflow, and a changed parser must reparse.
# They are read from the modules' own imports (scripts.core.codedeps), so
# no list kept here can drift from the code; data files a module reads
# (config/attribution.tsv, the report's template) are named by their rules.
def code(module):
    return list(code_of(module, Path(workflow.basedir)))


ATTRIBUTION = "config/attribution.tsv"


def network_options(wildcards):
    """measure's options for the cell's network path, as a list of words."""
    options = []
    if NETWORK_FALLBACK and wildcards.network == "loopback":
        options += ["--network-fallback", NETWORK_FALLBACK]
    if wildcards.network == "remote":
        options += ["--loadgen-host", config["loadgen_host"]]
        options += ["--server-address", config["server_address"]]
        if config["remote_loadgen"]:
            options += ["--remote-loadgen", config["remote_loadgen"]]
        options += [f"--ssh-option={o}" for o in config["ssh_options"]]
    return options


def server_options(wildcards):
    """measure's options for what the server gives each client."""
    per_client = server_def(wildcards).get("per_client")
    return ["--per-client", per_client] if per_client else []


def rate_options(wildcards):
    """measure's options for the load per client: rate, or rate_total
    divided across the cell's clients."""
    if config["rate_total"]:
        return ["--rate-total", config["rate_total"]]
    return ["--rate", config["rate"]]


def load_options(wildcards):
    """loadgen's options for the cell's load shape, as a list of words."""
    return LOADS[wildcards.load].loadgen_options()


def slurm_partition(wildcards):
    return config["slurm_partitions"].get(wildcards.vcpus, f"vcpus{wildcards.vcpus}")


def measure_inputs(wildcards):
    inputs = {
        "rusage": f"{BIN}/rusage",
        "loadgen": f"{BIN}/loadgen",
    }
    if server_def(wildcards).get("build"):
        inputs["server"] = f"{BIN}/{wildcards.server}.built"
    else:
        inputs["server"] = server_sources(wildcards)
    return inputs


# A measurement takes the whole of this resource and every other job a unit
# of it, so nothing else of the workflow runs on the host during a
# measurement, whatever --cores says.
HOST = 1000
workflow.global_resources.setdefault("host", HOST)


wildcard_constraints:
    server="[A-Za-z0-9][A-Za-z0-9_.-]*",
    network="|".join(PATHS),
    load="|".join(re.escape(label) for label in LOADS),
    vcpus=r"\d+",
    clients=r"\d+",
    repetition=r"\d+",
