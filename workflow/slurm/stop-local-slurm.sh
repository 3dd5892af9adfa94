#!/usr/bin/env bash
# Stop the test cluster that start-local-slurm.sh started (every node), and
# leave no process of it behind: CI ends with this, and a lingering slurmd or
# job step would keep the next run's daemons from binding their ports or hold
# CPUs a benchmark needs.
#
# It stops only what the start script started (recorded in /run/papaya-slurm),
# plus slurmctld/slurmd running with the start script's slurm.conf (theirs
# even if that record is gone), and removes that slurm.conf, the nodes'
# spool folders and their /etc/hosts line. A munged this script did not
# start is left running. Running it when nothing runs is fine.
set -euo pipefail

MARKER="# papaya-bench: written by workflow/slurm/start-local-slurm.sh"
CONF=/etc/slurm/slurm.conf
TRACK_DIR=/run/papaya-slurm
CTLD_PID=/run/slurmctld.pid
SLURMD_SPOOL=/var/spool/slurmd
HOSTS_MARK="# papaya-bench: local Slurm nodes"
MUNGED_PID=/run/munge/munged.pid
WAIT=${PAPAYA_SLURM_WAIT:-30}

log() { printf 'stop-local-slurm: %s\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || { log "error: must run as root"; exit 1; }

ours_conf=0
if [ -e "$CONF" ] && grep -qxF "$MARKER" "$CONF"; then ours_conf=1; fi

# The pid files may be stale (the machine restarted, a pid was reused): a pid
# counts only while it is the expected program.
pid_of() { # pid_of PIDFILE COMM -> prints the pid if alive
    local pid
    [ -s "$1" ] || return 1
    pid=$(tr -dc 0-9 <"$1")
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && running "$pid" && echo "$pid"
}
# A process that exited stays a zombie until pid 1 reaps it, and on our VMs
# pid 1 is not a real init and reaps late: count a zombie as gone.
running() { # running PID
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# TERM, wait (bounded), then KILL: a daemon must be gone when this returns.
stop() { # stop NAME PIDFILE
    local pid
    pid=$(pid_of "$2" "$1") || { log "$1 not running"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq $(( WAIT * 10 ))); do
        running "$pid" || { log "stopped $1 (pid $pid)"; return 0; }
        sleep 0.1
    done
    log "$1 (pid $pid) ignored TERM for ${WAIT}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
}

# Job steps run in slurmstepd processes that outlive slurmd by design (a
# restarted slurmd adopts them). Cancel every job while slurmctld can still
# do it cleanly, and wait for the steps to go, before stopping the daemons.
steps() { # pids of slurmstepd processes
    local p
    for p in /proc/[0-9]*; do
        [ "$(cat "$p/comm" 2>/dev/null)" = slurmstepd ] && running "${p#/proc/}" && echo "${p#/proc/}"
    done
    return 0
}

ctld_ours=0
if [ -e "$TRACK_DIR/slurmctld" ] || [ $ours_conf -eq 1 ]; then ctld_ours=1; fi
slurmd_ours=0
if compgen -G "$TRACK_DIR/slurmd*" >/dev/null || [ $ours_conf -eq 1 ]; then slurmd_ours=1; fi
# Every node's slurmd (and one of an older, single-node start).
slurmd_pids() { compgen -G "/run/slurmd*.pid" || true; }

if [ $ctld_ours -eq 1 ] && pid_of "$CTLD_PID" slurmctld >/dev/null; then
    jobs=$(squeue -h -o %i 2>/dev/null || true)
    if [ -n "$jobs" ]; then
        log "cancelling jobs: ${jobs//$'\n'/ }"
        # shellcheck disable=SC2086
        scancel $jobs 2>/dev/null || true
    fi
    for _ in $(seq $(( WAIT * 2 ))); do
        [ -z "$(squeue -h -t running,completing,configuring -o %i 2>/dev/null)" ] \
            && [ -z "$(steps)" ] && break
        sleep 0.5
    done
fi

if [ $slurmd_ours -eq 1 ]; then
    for pidfile in $(slurmd_pids); do stop slurmd "$pidfile"; done
fi
if [ $ctld_ours -eq 1 ]; then stop slurmctld "$CTLD_PID"; fi

# Steps that survived the cancel (slurmctld was already gone, or a step hung):
# they belong to this node's slurmd, which is ours, so end them.
if [ $slurmd_ours -eq 1 ]; then
    left=$(steps)
    if [ -n "$left" ]; then
        log "killing leftover job steps: ${left//$'\n'/ }"
        # shellcheck disable=SC2086
        kill -KILL $left 2>/dev/null || true
    fi
fi

if [ -e "$TRACK_DIR/munged" ]; then
    stop munged "$MUNGED_PID"
else
    log "munged was not started by start-local-slurm.sh; leaving it"
fi

rm -rf "$TRACK_DIR"

# Report anything of ours still alive, so a caller (CI) sees it.
rc=0
for pair in $(for f in $(slurmd_pids); do echo "slurmd:$f"; done) slurmctld:$CTLD_PID; do
    name=${pair%%:*}; file=${pair#*:}
    if pid=$(pid_of "$file" "$name"); then log "still running: $name (pid $pid)"; rc=1; fi
done
# Our slurm.conf goes too (the start script writes it anew): left behind, it
# names a slurmctld that is gone, and every scontrol call then retries it
# for about 10 s, every Snakemake start included (its Slurm executor plugin
# asks scontrol when it loads).
if [ $rc -eq 0 ] && [ $ours_conf -eq 1 ]; then
    rm -f "$CONF"
    rm -rf "$SLURMD_SPOOL"/papaya-n*
    rm -f /run/slurmd*.pid "$CTLD_PID"
    # In place: in a container /etc/hosts is often a bind mount.
    others=$(grep -vF "$HOSTS_MARK" /etc/hosts || true)
    printf '%s\n' "$others" >/etc/hosts
    log "removed $CONF, the nodes' spool folders and their /etc/hosts line"
fi
exit $rc
