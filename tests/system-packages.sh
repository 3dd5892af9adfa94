#!/usr/bin/env bash
# Install the Debian packages the test suite needs and the machine lacks:
# iproute2 for the network paths, linux-perf for the kernel profiles, openssh for a load generator on a test
# host in a namespace (Slurm and munge are installed by
# workflow/slurm/start-local-slurm.sh, which the Slurm test runs). Needs
# root only when something is missing.
set -euo pipefail

need=()
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v top >/dev/null || need+=(procps)
command -v taskset >/dev/null || need+=(util-linux)
command -v chromium >/dev/null || need+=(chromium)
command -v ip >/dev/null || need+=(iproute2)
command -v perf >/dev/null || need+=(linux-perf)
command -v ssh >/dev/null || need+=(openssh-client)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "tests need these Debian packages: ${need[*]}" >&2
    echo "install them as root: apt-get install --no-install-recommends ${need[*]}" >&2
    exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
