#!/usr/bin/env bash
# Wall time of the quick demys-exact sweep as a SLURM job array of 1 array task and of 4, one CPU
# per array task (one sweep worker each), on the cluster SLURM_CONF points at (e.g. the one-node
# cluster of start-cluster.sh), from submission until the job has left the queue; and, for
# reference, the same sweep run locally with 1 and 2 workers. Prints a Markdown table.
#
#   eval "$(scripts/slurm/start-cluster.sh)"; scripts/slurm/measure-scaling.sh; scripts/slurm/stop-cluster.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
experiment=experiments/demys-exact.json
work="$(mktemp -d /tmp/gatelab-scaling.XXXXXX)"
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

echo "| run | wall time (s) |"
echo "|---|---|"
for workers in 1 2; do
  t0="$(now)"
  node bin/gatelab.js sweep "$experiment" --quick --workers "$workers" --out "$work/local-$workers" 2>/dev/null
  echo "| local \`gatelab sweep --quick --workers $workers\` | $(elapsed "$t0" "$(now)") |"
done
for array in 1 4; do
  t0="$(now)"
  out="$(node bin/gatelab.js slurm "$experiment" --quick --array "$array" --cpus-per-task 1 --out "$work/array-$array" --submit)"
  job="$(sed -n 's/^submitted: job \([0-9]*\),.*/\1/p' <<<"$out")"
  while [[ -n "$(squeue -h -j "$job" 2>/dev/null)" ]]; do sleep 0.2; done
  echo "| SLURM \`gatelab slurm --quick --array $array --cpus-per-task 1 --submit\` | $(elapsed "$t0" "$(now)") |"
  node bin/gatelab.js status "$work/array-$array" | grep -q '96 of 96 tasks done' || { echo "array $array: not all tasks done" >&2; exit 1; }
done
echo
echo "on $(nproc) cores ($(sinfo -h -N -o '%c CPUs' | head -1) in SLURM), load average $(cut -d' ' -f1-3 /proc/loadavg)"
