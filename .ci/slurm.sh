#!/usr/bin/env bash
# A one-node Slurm cluster on this machine for the tests that submit real jobs (TestSlurm* in
# cmd/train): Debian's slurm-wlm and munge, slurmctld and slurmd on 127.0.0.1, a configuration that
# needs no cgroups (proctrack/linuxproc, task/none), no systemd.
#
#   .ci/slurm.sh up     install if needed, configure, start the daemons that are not running,
#                       wait for the node to be idle; exit 1 with a message when it cannot
#   .ci/slurm.sh down   cancel the jobs and stop the daemons that "up" started (by PID)
#
# Run as root. Daemons that were running before "up" are left running by "down".
set -uo pipefail
export DEBIAN_FRONTEND=noninteractive
started=/run/goapprox-ci-slurm.started # the pid files of the daemons "up" started

say() { echo "ci/slurm: $*"; }
# alive PIDFILE COMM: the pid file names a live process with that command name.
alive() { local p; p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && [ "$(ps -o comm= -p "$p" 2>/dev/null)" = "$2" ]; }
# stop PIDFILE COMM: end that process and wait for it.
stop() {
  alive "$1" "$2" || return 0
  local p; p=$(cat "$1")
  kill "$p" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  say "$2 (pid $p) did not stop within 10 s"
}

up() {
  [ "$(id -u)" = 0 ] || { say "needs root to install and start the daemons"; return 1; }
  if ! command -v sbatch >/dev/null || ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    local log; log=$(mktemp)
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurm-wlm munge; } >"$log" 2>&1 ||
      { tail -n 20 "$log"; rm -f "$log"; say "could not install slurm-wlm and munge"; return 1; }
    rm -f "$log"
  fi
  local h n mem conf
  h=$(hostname -s); n=$(nproc)
  mem=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  conf=$(mktemp)
  cat > "$conf" <<CONF
ClusterName=ci
SlurmctldHost=${h}(127.0.0.1)
SlurmUser=slurm
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=${h} NodeAddr=127.0.0.1 CPUs=${n} RealMemory=${mem} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  mkdir -p /etc/slurm
  if ! cmp -s "$conf" /etc/slurm/slurm.conf; then
    install -m 0644 "$conf" /etc/slurm/slurm.conf
    # Running daemons read the old configuration: restart them.
    stop /run/slurm/slurmd.pid slurmd
    stop /run/slurm/slurmctld.pid slurmctld
    # State of another cluster name stops slurmctld ("CLUSTER NAME MISMATCH").
    rm -f /var/lib/slurm/slurmctld/clustername
  fi
  rm -f "$conf"

  [ -s /etc/munge/munge.key ] || mungekey -c || { say "could not create the munge key"; return 1; }
  chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  if ! alive /run/munge/munged.pid munged; then
    runuser -u munge -- /usr/sbin/munged || { say "munged did not start (see /var/log/munge/munged.log)"; return 1; }
    echo /run/munge/munged.pid >> "$started"
  fi
  munge -n | unmunge >/dev/null || { say "munge authentication does not work"; return 1; }
  install -d -o slurm -g slurm /run/slurm /var/lib/slurm/slurmctld /var/log/slurm
  if ! alive /run/slurm/slurmctld.pid slurmctld; then
    slurmctld || { say "slurmctld did not start (see /var/log/slurm/slurmctld.log)"; return 1; }
    echo /run/slurm/slurmctld.pid >> "$started"
  fi
  if ! alive /run/slurm/slurmd.pid slurmd; then
    slurmd || { say "slurmd did not start (see /var/log/slurm/slurmd.log)"; return 1; }
    echo /run/slurm/slurmd.pid >> "$started"
  fi
  local state=""
  for _ in $(seq 120); do
    state=$(sinfo -h -n "$h" -o %t 2>/dev/null)
    case "$state" in idle) break ;; drain* | drng | inval) scontrol update nodename="$h" state=resume 2>/dev/null ;; esac
    sleep 0.5
  done
  [ "$state" = idle ] || { say "node $h is '$state', not idle, after 60 s (see /var/log/slurm/)"; return 1; }
  say "one-node cluster up: node $h idle, $n CPUs"
}

down() {
  [ "$(id -u)" = 0 ] && [ -s "$started" ] || return 0
  scancel --user="$(id -un)" 2>/dev/null
  # slurmd and slurmctld together (each takes about 2 s to exit), munged after them.
  local stops=()
  grep -qx /run/slurm/slurmd.pid "$started" && stops+=("stop /run/slurm/slurmd.pid slurmd")
  grep -qx /run/slurm/slurmctld.pid "$started" && stops+=("stop /run/slurm/slurmctld.pid slurmctld")
  for c in "${stops[@]}"; do $c & done
  wait
  grep -qx /run/munge/munged.pid "$started" && stop /run/munge/munged.pid munged
  rm -f "$started"
  say "cluster stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
