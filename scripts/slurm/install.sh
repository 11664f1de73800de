#!/usr/bin/env bash
# Install the Debian packages of a one-node SLURM cluster (controller, node daemon, client tools and
# munge for authentication). Needs root (CI runs as root). Does nothing when they are installed.
set -euo pipefail
# the daemons and runuser live in sbin, which a CI environment may leave off PATH
export PATH="$PATH:/usr/sbin:/sbin"
if command -v slurmctld >/dev/null 2>&1 && command -v slurmd >/dev/null 2>&1 && command -v sbatch >/dev/null 2>&1 && command -v munged >/dev/null 2>&1; then
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
