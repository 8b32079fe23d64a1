#!/usr/bin/env bash
# Starts a one-node Slurm cluster on localhost (Debian's slurm-wlm + munge, root needed), submits a
# 2-seed sweep of a tiny config with `mbrl sweep --slurm`, waits, and checks both runs completed.
# Not part of the test suite (it installs and starts daemons). Usage: scripts/test_slurm.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mbrl="${MBRL_BUILD_DIR:-$root/build}/mbrl"
[[ -x "$mbrl" ]] || "$root/scripts/setup.sh"
sudo_cmd=""; [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
dpkg-query -W -f='${Status}' slurm-wlm 2>/dev/null | grep -q "install ok installed" ||
  { $sudo_cmd apt-get update -qq; $sudo_cmd apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null; }

# munge: a key and the daemon
if [[ ! -s /etc/munge/munge.key ]]; then
  $sudo_cmd dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
$sudo_cmd chown munge:munge /etc/munge/munge.key && $sudo_cmd chmod 400 /etc/munge/munge.key
$sudo_cmd mkdir -p /run/munge && $sudo_cmd chown munge:munge /run/munge
pgrep -x munged >/dev/null || $sudo_cmd -u munge /usr/sbin/munged 2>/dev/null || $sudo_cmd su -s /bin/sh munge -c /usr/sbin/munged

# slurm: one node, one partition, no cgroups, no accounting
host="$(hostname -s)"; cpus="$(nproc)"; mem="$(free -m | awk '/^Mem:/ {print $2}')"
$sudo_cmd mkdir -p /etc/slurm /var/spool/slurmd /var/spool/slurmctld /var/log/slurm
$sudo_cmd tee /etc/slurm/slurm.conf >/dev/null <<CONF
ClusterName=mbrl-test
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=/var/spool/slurmctld
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
pgrep -x slurmctld >/dev/null || $sudo_cmd slurmctld
pgrep -x slurmd >/dev/null || $sudo_cmd slurmd
for i in $(seq 60); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 1; done
sinfo

work="$(mktemp -d /tmp/mbrl_slurm.XXXX)"
"$mbrl" sweep "$root/configs/random_cartpole.json" --seeds 0-1 --set total_env_steps=400 \
  --slurm --partition debug --cpus 1 --time 00:10:00 --out "$work/sweep"
for i in $(seq 300); do [[ -z "$(squeue -h 2>/dev/null)" ]] && break; sleep 1; done
ok=0
for run in "$work"/sweep/runs/*; do
  if [[ -f "$run/metrics.jsonl" ]] && tail -1 "$run/metrics.jsonl" | grep -q '"env_step":400'; then
    ok=$((ok + 1)); echo "completed: $run"
  fi
done
echo "$ok/2 runs completed"
[[ $ok -eq 2 ]] || { cat "$work"/sweep/logs/* 2>/dev/null; exit 1; }
