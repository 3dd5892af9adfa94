"""What the study asks and what it produces, defined once: the dataset's
tables, the charts and the vCPU levels H2 asks about. The workflow reads
this module while it parses, so it imports nothing heavy; the scripts and
the tests import it too."""

# The keys of a cell: what one measurement is of, and where.
KEYS = ["server", "network", "load", "vcpus", "clients", "repetition", "host"]
# The network paths, in order of how close the server's side of them comes
# to a real network card's (scripts.host.netpath sets them up). vethsplit
# takes the load generator's receive off the server's CPUs, but the server
# then kicks another CPU (an interrupt, in a VM an exit) for every batch it
# sends, which a network card does not ask of it; on netns and veth that
# receive runs on the server's CPUs and the profiles take it out.
NETWORK_PATHS = ("loopback", "vethsplit", "netns", "veth", "remote")

# The dataset's Parquet tables (results/dataset/NAME.parquet).
TABLES = ("top_frames", "top_procs", "cells")
# The profiles' tables (scripts/parse/profiles.py), when profiles are recorded.
PROFILE_TABLES = ("profiles", "profile_stacks", "profile_categories")

# Every chart scripts.report.charts draws, with the title the report gives it;
# workflow/report/NAME.rst is its caption in `snakemake --report`.
CHARTS = {
    "h1_cpu": "Server CPU vs clients",
    "h1_user_system": "User and system time vs clients",
    "h1_ctx_switches": "Context switches per second vs clients",
    "h1_cv": "Spread of CPU over top's frames vs clients",
    "h1_memory": "Memory per client vs clients",
    "wait_per_slice": "Wait for a CPU per wake-up vs clients",
    "lat_percentiles": "Message latency vs clients (with replies)",
    "lat_tradeoff": "CPU per MB against p99 latency (with replies)",
    "h2_cost_vcpus": "CPU cost per MB vs vCPUs",
    "h2_ratio": "CPU per MB of the reference server over each other server",
    "net_busy": "Busy time of the server's CPUs per network path",
    "load_cpu_per_mb": "CPU per MB vs the load's write cadence",
    "load_cpu_per_read": "CPU per read vs the load's write cadence",
}

# The charts of the profiles (scripts.report.profile_charts), drawn when profiles
# are recorded: categories vs clients, and where the time goes at the most
# clients, per server.
PROFILE_CHARTS = {
    "h1_categories": "Where the server's CPU time goes vs clients (kernel profiles)",
    "h1_icicle": "Call chains of the server's CPU time at the most clients",
}

# The study's question, not the matrix measured: H2 asks about these vCPU
# levels, and the report names those that were not measured.
EXPECTED_VCPUS = (1, 2, 4)
