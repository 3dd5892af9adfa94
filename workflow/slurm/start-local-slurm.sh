#!/usr/bin/env bash
# Start a real Slurm cluster of several nodes on this machine, so that the
# test suite and CI can run the pipeline through `snakemake --executor slurm`
# against the same sbatch/squeue/srun a real cluster has, not a mock. Each
# node is a slurmd in a UTS namespace of its own, named papaya-n1,
# papaya-n2...: a job on it sees that host name, and each listens on a port
# of its own. The nodes share this machine's CPUs and file system, as the
# nodes of a real cluster share a file system.
#
#   sudo workflow/slurm/start-local-slurm.sh     # idempotent
#   workflow/slurm/stop-local-slurm.sh           # undo: stops what this started
#
# Meant for disposable machines (CI, a developer's VM): it installs Debian
# packages and writes /etc/slurm/slurm.conf. It never overwrites a slurm.conf
# that it did not write itself (see MARKER). No systemd is assumed: every
# daemon is started by hand and tracked through its pid file.
#
# Environment (all optional):
#   PAPAYA_SLURM_NODES    how many nodes (default 2).
#   PAPAYA_SLURM_LEVELS   vCPU levels to make partitions for (default
#                         "1 2 4"), each on the next node in turn (vcpus1 on
#                         papaya-n1, vcpus2 on papaya-n2...); a level V gets
#                         partition vcpusV only if the machine has at least V
#                         CPUs (a cell pins its server to V CPUs and needs one
#                         more for the load generator unless allow_shared_cpus,
#                         see scripts/host/cpus.py); vcpus1 always exists, so
#                         even a 1-CPU machine has a partition.
#   PAPAYA_SLURM_WAIT     seconds to wait for the node to become idle (30).
set -euo pipefail

MARKER="# papaya-bench: written by workflow/slurm/start-local-slurm.sh"
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
STATE_DIR=/var/spool/slurmctld/papaya
SLURMD_SPOOL=/var/spool/slurmd
LOG_DIR=/var/log/slurm
MUNGE_RUN=/run/munge
MUNGE_KEY=/etc/munge/munge.key
# The stop script stops only the daemons listed here, so that a munged that
# was already serving something else on this machine is left alone.
TRACK_DIR=/run/papaya-slurm
CTLD_PID=/run/slurmctld.pid
# One pid file, spool folder and log per node: Slurm puts the node's name
# for %n.
SLURMD_PIDS=/run/slurmd-%n.pid
MUNGED_PID=$MUNGE_RUN/munged.pid
WAIT=${PAPAYA_SLURM_WAIT:-30}
LEVELS=${PAPAYA_SLURM_LEVELS:-1 2 4}
NODES=${PAPAYA_SLURM_NODES:-2}
# The nodes' names resolve to this machine through this line of /etc/hosts.
HOSTS_MARK="# papaya-bench: local Slurm nodes"
# slurmd's default port; node i listens on SLURMD_PORT + i - 1.
SLURMD_PORT=6818

log() { printf 'start-local-slurm: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it installs packages and starts daemons)"

# /run survives a reboot on some of our VMs (it is not always a tmpfs), so a
# pid file alone proves nothing: the pid must also belong to the right program.
alive() { # alive PIDFILE COMM
    local pid
    [ -s "$1" ] || return 1
    pid=$(tr -dc 0-9 <"$1")
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && running "$pid"
}
# A daemon that exited stays a zombie until pid 1 reaps it, and on our VMs
# pid 1 is not a real init and reaps late: count a zombie as gone.
running() { # running PID
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# Refuse before changing anything: this machine's Slurm is someone else's.
if [ -e "$CONF" ] && ! grep -qxF "$MARKER" "$CONF"; then
    die "$CONF exists and was not written by this script; not touching it (move it away to use this script)"
fi

# --- packages ---------------------------------------------------------------
need=()
for cmd in slurmctld slurmd sinfo munged; do
    command -v "$cmd" >/dev/null 2>&1 || need+=("$cmd")
done
if [ ${#need[@]} -gt 0 ]; then
    log "installing Slurm and munge (missing: ${need[*]})"
    pkgs=(slurmctld slurmd slurm-client munge)
    # The packages' maintainer scripts try to start the daemons through
    # systemd or init.d; policy-rc.d exit 101 keeps them from doing so (this
    # script starts them itself, with its own config).
    policy=/usr/sbin/policy-rc.d
    own_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; own_policy=1
    fi
    install_pkgs() {
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
    }
    # apt-get update costs time and is needed only when the package lists are
    # missing (a fresh image) or stale (the mirror dropped a version): try
    # without it first.
    ok=1
    install_pkgs 2>/dev/null || { apt-get update -qq && install_pkgs; } || ok=0
    if [ $own_policy -eq 1 ]; then rm -f "$policy"; fi
    [ $ok -eq 1 ] || die "apt-get install ${pkgs[*]} failed"
fi

[[ $NODES =~ ^[1-9][0-9]?$ ]] || die "PAPAYA_SLURM_NODES must be 1 to 99, not '$NODES'"
host=$(hostname -s)
[ -n "$host" ] || die "hostname -s is empty"
nodes=()
for i in $(seq "$NODES"); do nodes+=("papaya-n$i"); done

# slurmctld and slurmd find each other by these names; a container's
# hostname often has no /etc/hosts entry, and then both fail with a resolver
# error. /etc/hosts is rewritten in place: in a container it is often a bind
# mount, which cannot be replaced.
if ! getent hosts "$host" >/dev/null; then
    log "adding '127.0.0.1 $host' to /etc/hosts"
    printf '127.0.0.1 %s\n' "$host" >>/etc/hosts
fi
others=$(grep -vF "$HOSTS_MARK" /etc/hosts || true)
printf '%s\n127.0.0.1 %s %s\n' "$others" "${nodes[*]}" "$HOSTS_MARK" >/etc/hosts

# --- munge ------------------------------------------------------------------
mkdir -p "$TRACK_DIR"
# Without systemd nothing creates munged's RuntimeDirectory; it refuses to
# start unless the socket directory is owned by its user.
install -d -o munge -g munge -m 0755 "$MUNGE_RUN"
install -d -o munge -g munge -m 0700 /var/log/munge /etc/munge
install -d -o munge -g munge -m 0711 /var/lib/munge
if [ ! -s "$MUNGE_KEY" ]; then
    log "creating a munge key"
    mungekey --create --keyfile="$MUNGE_KEY"
fi
# munged checks that the key is private to it and exits otherwise.
chown munge:munge "$MUNGE_KEY"; chmod 0400 "$MUNGE_KEY"

if alive "$MUNGED_PID" munged; then
    log "munged already running (pid $(cat "$MUNGED_PID"))"
else
    rm -f "$MUNGED_PID"
    runuser -u munge -- /usr/sbin/munged
    touch "$TRACK_DIR/munged"
    log "started munged"
fi
for _ in $(seq 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
done
munge -n | unmunge >/dev/null || die "munge does not work (see /var/log/munge/munged.log)"

# --- slurm.conf -------------------------------------------------------------

# slurmd -C reports what slurmd will detect; a node line that promises more
# than that (CPUs, sockets, memory) makes slurmctld set the node DOWN with
# "Low RealMemory" or similar. Memory is set a bit lower, as the detected
# value changes slightly between boots.
hw=$(slurmd -C | head -n1)
case $hw in NodeName=*) ;; *) die "unexpected 'slurmd -C' output: $hw" ;; esac
mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$hw")
if [ -z "$mem" ] || [ -z "$cpus" ]; then die "cannot parse 'slurmd -C': $hw"; fi
[ "$cpus" -eq "$(nproc)" ] || log "note: slurmd -C sees $cpus CPUs, nproc says $(nproc); using slurmd's"
mem=$(( mem * 95 / 100 ))
# Keep the topology slurmd detected (Boards/Sockets/Cores/Threads), but with
# each node's name, address and port, and the lowered memory.
node_lines=""
for i in "${!nodes[@]}"; do
    node_lines+=$(sed -e "s/^NodeName=[^ ]*/NodeName=${nodes[$i]} NodeAddr=127.0.0.1 Port=$(( SLURMD_PORT + i ))/" \
                      -e "s/RealMemory=[0-9]*/RealMemory=$mem/" <<<"$hw")" State=UNKNOWN"$'\n'
done

# Each level on the next node in turn: what a cluster with one partition
# of its own nodes per vCPU level looks like.
partitions="PartitionName=vcpus1 Nodes=${nodes[0]} Default=YES MaxTime=INFINITE State=UP"
k=1
for v in $LEVELS; do
    if [ "$v" -le 1 ] || [ "$v" -gt "$cpus" ]; then continue; fi
    partitions+=$'\n'"PartitionName=vcpus$v Nodes=${nodes[$(( k % NODES ))]} Default=NO MaxTime=INFINITE State=UP"
    k=$(( k + 1 ))
done

new_conf=$(mktemp)
trap 'rm -f "$new_conf"' EXIT
cat >"$new_conf" <<EOF
$MARKER
# Disposable test cluster of $NODES nodes on one machine; regenerated on
# every start.
ClusterName=papaya
SlurmctldHost=$host
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
# cgroup tracking needs a writable cgroup hierarchy that containers and some
# VMs do not give; linuxproc follows the process tree instead, which is all
# a test node needs.
ProctrackType=proctrack/linuxproc
# Bind every job step to the CPUs Slurm gave it (sched_setaffinity), so the
# CPU count a job asked for is the number of CPUs it can run on.
TaskPlugin=task/affinity
# Hand out single cores, so jobs share the node CPU by CPU and --exclusive
# means the whole node. Memory is not a consumable: tests ask for small
# amounts and must not be refused for them.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# A node that went away (machine restarted, slurmd killed) comes back as
# soon as its slurmd registers again, instead of staying DOWN.
ReturnToService=2
# The Snakemake plugin polls squeue (there is no accounting to ask sacct).
# A finished job must stay visible there until the first poll: at least three
# times --slurm-init-seconds-before-status-checks.
MinJobAge=300
# Without this, a job asking for more CPUs than the node has is accepted and
# pends forever (Reason=PartitionConfig), and Snakemake waits with it; with
# it, sbatch refuses at once and the workflow fails fast.
EnforcePartLimits=ALL
# No slurmdbd: without these, sbatch works but every sacct call fails.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SLURMD_SPOOL/%n
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PIDS
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
$node_lines
$partitions
EOF

install -d -m 0755 "$CONF_DIR"
install -d -o slurm -g slurm -m 0755 /var/spool/slurmctld "$STATE_DIR" "$LOG_DIR"
for n in "${nodes[@]}"; do install -d -m 0755 "$SLURMD_SPOOL/$n"; done

changed=1
if [ -e "$CONF" ] && cmp -s "$new_conf" "$CONF"; then changed=0; fi
if [ $changed -eq 1 ]; then
    install -m 0644 "$new_conf" "$CONF"
    log "wrote $CONF"
fi

# --- slurmctld and slurmd ---------------------------------------------------
stop_pid() { # stop_pid PIDFILE COMM
    alive "$1" "$2" || return 0
    local pid; pid=$(tr -dc 0-9 <"$1")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do running "$pid" || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
# Daemons that read an older slurm.conf would disagree with the new one
# about the node (CPUs, memory): restart them rather than reconfigure.
if [ $changed -eq 1 ]; then
    for pidfile in /run/slurmd.pid /run/slurmd-*.pid; do
        [ -e "$pidfile" ] && stop_pid "$pidfile" slurmd
    done
    stop_pid "$CTLD_PID" slurmctld
fi

if alive "$CTLD_PID" slurmctld; then
    log "slurmctld already running (pid $(cat "$CTLD_PID"))"
else
    # -c: start from an empty state. This is a test cluster; jobs or node
    # states saved by an earlier run (a node marked DOWN, a job that was
    # running when the machine went away) would only get in the way.
    slurmctld -c
    touch "$TRACK_DIR/slurmctld"
    log "started slurmctld"
fi
# slurmd takes its node's name from the host name, so each runs in a UTS
# namespace of its own under its node's name; everything it starts (the
# jobs) inherits it.
for n in "${nodes[@]}"; do
    if alive "/run/slurmd-$n.pid" slurmd; then
        log "slurmd of $n already running (pid $(cat "/run/slurmd-$n.pid"))"
    else
        unshare --uts sh -c 'hostname "$1" && exec slurmd' sh "$n"
        touch "$TRACK_DIR/slurmd-$n"
        log "started slurmd of $n"
    fi
done

# --- wait until every node takes jobs --------------------------------------
wait_node() { # wait_node NODE -> 0 once it is idle, mixed or allocated
    local state="" deadline=$(( SECONDS + WAIT ))
    while [ $SECONDS -lt $deadline ]; do
        state=$(sinfo -h -n "$1" -o %T 2>/dev/null | head -n1 || true)
        case $state in
            idle|mixed|allocated) return 0 ;;
            # A node left DOWN or DRAINED by something earlier in this
            # slurmctld's life; ReturnToService does not lift a drain.
            down*|drain*) scontrol update NodeName="$1" State=RESUME >/dev/null 2>&1 || true ;;
        esac
        sleep 0.5
    done
    log "node $1 is '${state:-unknown}' after ${WAIT}s; last log lines:"
    tail -n 20 "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd-$1.log" >&2 || true
    return 1
}
for n in "${nodes[@]}"; do wait_node "$n" || exit 1; done

log "ready: cluster papaya, nodes ${nodes[*]} (each $cpus CPUs, ${mem} MB, this machine's)"
log "logs in $LOG_DIR; stop with workflow/slurm/stop-local-slurm.sh"
sinfo
