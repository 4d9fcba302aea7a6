#!/usr/bin/env bash
# Stop the single-node Slurm cluster that .ci/slurm-up.sh started: cancel every job, then stop
# slurmd, slurmctld and munged by the ids in their pid files. Idempotent; leaves the packages,
# slurm.conf and the munge key in place (a later slurm-up.sh starts again quickly).
#
# SLURM_DOWN_PURGE=1 also removes the controller's saved state (jobs, node states).
set -uo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "slurm-down: must run as root" >&2
  exit 1
fi

# shellcheck source=.ci/slurm-lib.sh
source "$(dirname "$0")/slurm-lib.sh" # stop_pidfile

if [ -f /run/slurmctld.pid ] && command -v scancel >/dev/null 2>&1; then
  timeout 10 scancel --full --quiet --user=root 2>/dev/null || true
fi
stop_pidfile /run/slurmd.pid
stop_pidfile /run/slurmctld.pid
stop_pidfile /run/munge/munged.pid
if [ "${SLURM_DOWN_PURGE:-0}" = 1 ]; then
  rm -rf /var/spool/slurmctld/* /var/spool/slurmd/*
fi
echo "slurm-down: stopped"
