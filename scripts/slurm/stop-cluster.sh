#!/usr/bin/env bash
# Stop the one-node cluster started by start-cluster.sh: slurmd, then slurmctld, then munged (only
# if start-cluster.sh started it), each by the PID it recorded; SIGTERM, then SIGKILL to a PID
# still alive after 5 s. The folder comes from the argument or $GATELAB_SLURM_DIR; it is removed
# unless --keep is given (its log/ folder helps when something went wrong).
set -uo pipefail
keep=0
if [[ "${1:-}" == "--keep" ]]; then keep=1; shift; fi
state="${1:-${GATELAB_SLURM_DIR:-}}"
if [[ -z "$state" || ! -d "$state" ]]; then
  echo "stop-cluster: no cluster folder (give it as the argument or set GATELAB_SLURM_DIR)" >&2
  exit 1
fi

stop_pid_file() {
  local file="$1" name="$2" pid
  [[ -f "$file" ]] || return 0
  pid="$(cat "$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || { echo "stop-cluster: $name ($pid) stopped" >&2; return 0; }; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  echo "stop-cluster: $name ($pid) killed after 5 s" >&2
}

stop_pid_file "$state/slurmd.daemon.pid" slurmd
stop_pid_file "$state/slurmctld.daemon.pid" slurmctld
stop_pid_file "$state/munged.pid" munged
if [[ $keep == 0 ]]; then rm -rf "$state"; fi
