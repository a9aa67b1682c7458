#!/usr/bin/env bash
# Bring up, or take down, a single-node SLURM cluster on this machine, for testing the
# workflow's SLURM profile against a real scheduler.
#
#   cluster/local_slurm.sh install   # Debian packages slurmctld slurmd slurm-client munge (root)
#   cluster/local_slurm.sh up        # write /etc/slurm/slurm.conf, start munged, slurmctld, slurmd
#   cluster/local_slurm.sh down      # stop exactly the daemons that `up` started
#
# The node description comes from `slurmd -C`. No cgroup plugins (they need a systemd
# cgroup hierarchy), process tracking by /proc. The configuration must sit at the
# default /etc/slurm/slurm.conf: the executor plugin's job steps do not pass SLURM_CONF
# on. Without slurmdbd, `sacct` does not work: run Snakemake with
# --slurm-status-command squeue (the profile profiles/slurm does).
set -euo pipefail

STATE_DIR="${SLURM_STATE_DIR:-/tmp/twolayer-slurm}"
CONF=/etc/slurm/slurm.conf
PARTITION="${SLURM_PARTITION:-debug}"

install() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurmctld slurmd slurm-client munge >/dev/null
}

write_config() {
    local node
    node=$(slurmd -C | head -n 1)
    local name
    name=$(hostname -s)
    mkdir -p "$STATE_DIR"/{ctld,d,log} /etc/slurm
    chown -R slurm:slurm "$STATE_DIR/ctld"
    if [ -f "$CONF" ] && ! grep -q "Written by cluster/local_slurm.sh" "$CONF"; then
        cp -p "$CONF" "$STATE_DIR/slurm.conf.before"  # someone else's: put back by `down`
    fi
    cat >"$CONF" <<CONFIG
# Written by cluster/local_slurm.sh: a one-node test cluster.
ClusterName=twolayer
SlurmctldHost=${name}
SlurmUser=slurm
AuthType=auth/munge
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
StateSaveLocation=${STATE_DIR}/ctld
SlurmdSpoolDir=${STATE_DIR}/d
SlurmctldPidFile=${STATE_DIR}/slurmctld.pid
SlurmdPidFile=${STATE_DIR}/slurmd.pid
SlurmctldLogFile=${STATE_DIR}/log/slurmctld.log
SlurmdLogFile=${STATE_DIR}/log/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=300
${node}
PartitionName=${PARTITION} Nodes=${name} Default=YES MaxTime=INFINITE State=UP
CONFIG
}

up() {
    command -v slurmctld >/dev/null || { echo "slurmctld is not installed: run '$0 install' first" >&2; exit 1; }
    write_config
    mkdir -p /run/munge && chown munge:munge /run/munge
    if ! pgrep -x munged >/dev/null; then
        runuser -u munge -- /usr/sbin/munged
        pgrep -x munged >"$STATE_DIR/munged.pid"
    fi
    slurmctld -f "$CONF"
    slurmd -f "$CONF"
    for _ in $(seq 60); do
        if sinfo -h -o '%T' 2>/dev/null | grep -qx idle; then
            sinfo
            return 0
        fi
        sleep 1
    done
    echo "the node did not become idle; see $STATE_DIR/log/" >&2
    sinfo >&2 || true
    tail -n 20 "$STATE_DIR"/log/*.log >&2 || true
    return 1
}

down() {
    for daemon in slurmd slurmctld munged; do
        local file="$STATE_DIR/$daemon.pid"
        if [ -f "$file" ]; then
            kill "$(cat "$file")" 2>/dev/null || true
            rm -f "$file"
        fi
    done
    # Leave no configuration behind that names a controller which is gone: SLURM's
    # clients (and tools that probe them, like Snakemake's SLURM plugin at start-up)
    # would wait for it to answer.
    if [ -f "$STATE_DIR/slurm.conf.before" ]; then
        mv "$STATE_DIR/slurm.conf.before" "$CONF"
    elif [ -f "$CONF" ] && grep -q "Written by cluster/local_slurm.sh" "$CONF"; then
        rm -f "$CONF"
    fi
    for _ in $(seq 20); do
        pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || return 0
        sleep 0.5
    done
}

case "${1:-}" in
    install) install ;;
    up) up ;;
    down) down ;;
    *) echo "usage: $0 install|up|down" >&2; exit 2 ;;
esac
