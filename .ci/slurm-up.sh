#!/usr/bin/env bash
# Start a single-node Slurm cluster (munge + slurmctld + slurmd) on this machine, as root, for the
# cluster end-to-end test (tests/cluster/slurm_e2e_test.ts). Idempotent: a second call leaves a
# healthy cluster alone and repairs a half-started one. Needs the Debian packages slurm-wlm and
# munge (see .ci/apt-packages). Works without systemd and without cgroups (containers).
#
#   .ci/slurm-up.sh        # then: sinfo, sbatch, ...
#   .ci/slurm-down.sh      # stops the daemons again
#
# Settings: SLURM_UP_TIMEOUT (seconds to wait for the node to be idle, default 60).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "slurm-up: must run as root" >&2
  exit 1
fi
for bin in munged mungekey slurmctld slurmd sinfo; do
  command -v "$bin" >/dev/null 2>&1 || {
    echo "slurm-up: $bin not found; install the Debian packages slurm-wlm and munge" >&2
    exit 1
  }
done

timeout_s=${SLURM_UP_TIMEOUT:-60}
host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
conf=/etc/slurm/slurm.conf
state=/var/spool/slurmctld
spool=/var/spool/slurmd
logs=/var/log/slurm

# shellcheck source=.ci/slurm-lib.sh
source "$(dirname "$0")/slurm-lib.sh" # stop_pidfile
# Whether the daemon named by a pid file is alive.
alive() {
  local pid
  pid=$(cat "$1" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# --- munge -------------------------------------------------------------------------------------
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  mungekey --create --keyfile=/etc/munge/munge.key
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  stop_pidfile /run/munge/munged.pid # a stale daemon that does not answer
  runuser -u munge -- munged
  for _ in $(seq 1 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
  done
  munge -n | unmunge >/dev/null || {
    echo "slurm-up: munged does not answer" >&2
    exit 1
  }
fi

# --- slurm.conf ----------------------------------------------------------------------------------
install -d -m 0755 /etc/slurm "$state" "$spool" "$logs"
new_conf=$(mktemp)
cat >"$new_conf" <<EOF
# Written by .ci/slurm-up.sh: a single-node test cluster without cgroups.
ClusterName=ci
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
StateSaveLocation=$state
SlurmdSpoolDir=$spool
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$logs/slurmctld.log
SlurmdLogFile=$logs/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
changed=0
if ! cmp -s "$new_conf" "$conf"; then
  install -m 0644 "$new_conf" "$conf"
  changed=1
fi
rm -f "$new_conf"

# --- daemons -------------------------------------------------------------------------------------
if [ "$changed" -eq 1 ]; then
  # A new configuration (first start, or another hostname/CPU count): restart both daemons.
  stop_pidfile /run/slurmd.pid
  stop_pidfile /run/slurmctld.pid
fi
alive /run/slurmctld.pid || slurmctld
alive /run/slurmd.pid || slurmd

# --- wait until the node takes jobs -----------------------------------------------------------
deadline=$((SECONDS + timeout_s))
while :; do
  node_state=$(sinfo -h -N -n "$host" -o '%t' 2>/dev/null | head -1 || true)
  case "$node_state" in
  idle | mix | alloc) break ;;
  down* | drain* | fail*)
    scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true
    ;;
  esac
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "slurm-up: node $host not idle after ${timeout_s}s (state: ${node_state:-no answer})" >&2
    tail -20 "$logs/slurmctld.log" "$logs/slurmd.log" >&2 || true
    exit 1
  fi
  sleep 0.5
done
echo "slurm-up: node $host is $node_state (partition debug, $cpus CPUs)"
sinfo
