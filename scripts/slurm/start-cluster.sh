#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine, for tests and CI (needs root and the packages of
# scripts/slurm/install.sh): munged, slurmctld and slurmd, no systemd. The config, state, spool,
# logs and PIDs live in one folder (default: a new /tmp/gatelab-slurm.XXXXXX); the node gets this
# machine's CPU count. Prints the folder's env file, which exports SLURM_CONF (source it so that
# sbatch, squeue and gatelab find the cluster) and GATELAB_SLURM_DIR (what stop-cluster.sh stops).
#
#   eval "$(scripts/slurm/start-cluster.sh)"     # or: source "$(scripts/slurm/start-cluster.sh --env-file)"
#   ...
#   scripts/slurm/stop-cluster.sh
set -euo pipefail
# the daemons and runuser live in sbin, which a CI environment may leave off PATH
export PATH="$PATH:/usr/sbin:/sbin"

print_env_file=0
if [[ "${1:-}" == "--env-file" ]]; then print_env_file=1; shift; fi
state="${1:-}"
if [[ -z "$state" ]]; then state="$(mktemp -d /tmp/gatelab-slurm.XXXXXX)"; fi
mkdir -p "$state"
# the slurm user must reach the folder (mktemp -d makes it 700)
chmod 755 "$state"
for tool in munged slurmctld slurmd sinfo; do
  if ! command -v "$tool" >/dev/null 2>&1 && [[ ! -x "/usr/sbin/$tool" ]]; then
    echo "start-cluster: $tool not found; install SLURM first (scripts/slurm/install.sh)" >&2
    exit 1
  fi
done

cpus="$(nproc)"
mem_mb="$(awk '/MemTotal/ { printf "%d", $2 / 1024 / 2 }' /proc/meminfo)"
mkdir -p "$state/ctld" "$state/spool" "$state/log"
chown slurm:slurm "$state/ctld" "$state/log"
cat >"$state/slurm.conf" <<EOF
# one-node cluster for gatelab's tests (written by scripts/slurm/start-cluster.sh)
ClusterName=gatelab-ci
SlurmctldHost=localhost
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
# schedule waiting array tasks within 1-2 s of a free CPU (defaults: 30 s and 60 s passes)
SchedulerParameters=bf_interval=1,sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
MpiDefault=none
KillWait=5
NodeName=localhost NodeHostname=localhost CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$state/slurm.conf"

# munge: one daemon per machine at its standard socket; reuse a running one
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if ! (munge -n | unmunge) >/dev/null 2>&1; then
  setsid runuser -u munge -- /usr/sbin/munged -F >"$state/log/munged.out" 2>&1 </dev/null &
  echo $! >"$state/munged.pid"
  for _ in $(seq 50); do (munge -n | unmunge) >/dev/null 2>&1 && break; sleep 0.1; done
  # the daemon's own PID (the one recorded above is runuser's)
  if [[ -f /run/munge/munged.pid ]]; then cp /run/munge/munged.pid "$state/munged.pid"; fi
fi

setsid /usr/sbin/slurmctld -D -f "$SLURM_CONF" >"$state/log/slurmctld.out" 2>&1 </dev/null &
echo $! >"$state/slurmctld.daemon.pid"
setsid /usr/sbin/slurmd -D -N localhost -f "$SLURM_CONF" >"$state/log/slurmd.out" 2>&1 </dev/null &
echo $! >"$state/slurmd.daemon.pid"

cat >"$state/env.sh" <<EOF
export SLURM_CONF=$state/slurm.conf
export GATELAB_SLURM_DIR=$state
EOF

# wait for the node to be idle
for _ in $(seq 120); do
  if [[ "$(sinfo -h -N -o '%T' 2>/dev/null | head -1)" == "idle" ]]; then
    echo "start-cluster: one-node SLURM cluster up ($cpus CPUs, ${mem_mb} MB) in $state" >&2
    if [[ $print_env_file == 1 ]]; then echo "$state/env.sh"; else cat "$state/env.sh"; fi
    exit 0
  fi
  sleep 0.5
done
echo "start-cluster: the node did not become idle in 60 s; logs in $state/log:" >&2
tail -n 20 "$state"/log/*.log "$state"/log/*.out >&2 || true
GATELAB_SLURM_DIR="$state" "$(dirname "$0")/stop-cluster.sh" >&2 || true
exit 1
