#!/usr/bin/env bash
# Starts or stops the daemons the tests need, all private to $PCOCC_CI_DIR so
# they never clash with the host's own (system munged, dockerd, slurm):
#   munged            socket $PCOCC_CI_DIR/munge/munge.socket, private key
#   slurmctld         SLURM_CONF=$PCOCC_CI_DIR/slurm/slurm.conf, port 16817
#   slurmd n1, n2     two nodes on localhost, ports 17001 and 17002
#   dockerd           socket $PCOCC_CI_DIR/docker/docker.sock, no networking
#   docker-registry   127.0.0.1:15000
# `start` writes $PCOCC_CI_DIR/env.sh (SLURM_CONF, DOCKER_HOST, ...) for the
# tests to source. A service that fails to start is reported and left out of
# env.sh (PCOCC_CI_SLURM / PCOCC_CI_DOCKER / PCOCC_CI_REGISTRY stay unset):
# the tests that need it skip. `stop` kills what `start` started, by pidfile.
# Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
need_root

S=$PCOCC_CI_DIR
MUNGE_SOCKET=$S/munge/munge.socket
SLURM_DIR=$S/slurm
SLURM_CONF_FILE=$SLURM_DIR/slurm.conf
DOCKER_DIR=$S/docker
DOCKER_SOCK=$DOCKER_DIR/docker.sock
REGISTRY_ADDR=127.0.0.1:15000
SLURM_NODES=(n1 n2)

# pid_alive PIDFILE NAME: the pid in PIDFILE runs a program called NAME.
pid_alive() {
	local pid
	[[ -s $1 ]] || return 1
	pid=$(<"$1")
	[[ $pid =~ ^[0-9]+$ ]] && [[ $(cat /proc/"$pid"/comm 2>/dev/null) == "$2"* ]] &&
		! grep -q '^[^)]*) Z' /proc/"$pid"/stat 2>/dev/null    # a zombie is gone
}

# stop_pidfile PIDFILE NAME: SIGTERM, wait up to 10 s, then SIGKILL.
stop_pidfile() {
	local f=$1 name=$2 pid i
	pid_alive "$f" "$name" || { rm -f "$f"; return 0; }
	pid=$(<"$f")
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		pid_alive "$f" "$name" || break
		sleep 0.1
	done
	if pid_alive "$f" "$name"; then
		log "$name ($pid) ignored SIGTERM; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
}

start_munge() {
	install -d -m 0755 -o munge -g munge "$S/munge"
	if [[ ! -s $S/munge/munge.key ]]; then
		if command -v mungekey >/dev/null; then
			mungekey --create --keyfile="$S/munge/munge.key" --force
		else
			dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 status=none
		fi
	fi
	chown munge:munge "$S/munge/munge.key"
	chmod 0600 "$S/munge/munge.key"
	pid_alive "$S/munge/munged.pid" munged && return 0
	runuser -u munge -- /usr/sbin/munged --force \
		--socket="$MUNGE_SOCKET" --key-file="$S/munge/munge.key" \
		--pid-file="$S/munge/munged.pid" --log-file="$S/munge/munged.log" \
		--seed-file="$S/munge/munged.seed"
	wait_for 10 "munged" munge --socket="$MUNGE_SOCKET" -n
}

write_slurm_conf() {
	install -d -m 0755 "$SLURM_DIR" "$SLURM_DIR/plugstack.conf.d"
	install -d -m 0755 -o slurm -g slurm "$SLURM_DIR/ctld" "$SLURM_DIR/log" "$SLURM_DIR/run"
	cat >"$SLURM_CONF_FILE" <<CONF
# Written by scripts/services.sh: a private two-node cluster on localhost.
ClusterName=pcocc-ci
SlurmctldHost=localhost
SlurmctldPort=16817
SlurmUser=slurm
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$SLURM_DIR/ctld
SlurmdSpoolDir=$SLURM_DIR/spool-%n
SlurmctldPidFile=$SLURM_DIR/run/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/run/slurmd-%n.pid
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd-%n.log
PlugStackConfig=$SLURM_DIR/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
MinJobAge=10
KillWait=5
NodeName=n1 NodeHostname=localhost NodeAddr=127.0.0.1 Port=17001 CPUs=8 State=UNKNOWN
NodeName=n2 NodeHostname=localhost NodeAddr=127.0.0.1 Port=17002 CPUs=8 State=UNKNOWN
PartitionName=debug Nodes=n[1-2] Default=YES MaxTime=INFINITE State=UP
CONF
	# cgroup v2-only hosts without systemd in charge: slurmd must not call dbus.
	if [[ $(stat -fc %T /sys/fs/cgroup 2>/dev/null) == cgroup2fs ]]; then
		printf 'CgroupPlugin=cgroup/v2\nIgnoreSystemd=yes\n' >"$SLURM_DIR/cgroup.conf"
	else
		printf 'CgroupPlugin=autodetect\n' >"$SLURM_DIR/cgroup.conf"
	fi
	# The SPANK plugin's line goes into plugstack.conf.d/pcocc.conf (see spank/).
	[[ -f $SLURM_DIR/plugstack.conf ]] ||
		echo "include $SLURM_DIR/plugstack.conf.d/*.conf" >"$SLURM_DIR/plugstack.conf"
	chmod 0644 "$SLURM_CONF_FILE" "$SLURM_DIR/cgroup.conf" "$SLURM_DIR/plugstack.conf"
}

slurm_nodes_idle() {
	local states
	states=$(sinfo -h -N -o '%N %T' 2>/dev/null) || return 1
	for n in "${SLURM_NODES[@]}"; do
		grep -Eq "^$n (idle|mixed|allocated)" <<<"$states" || return 1
	done
}

start_slurm() {
	export SLURM_CONF=$SLURM_CONF_FILE
	write_slurm_conf
	bash scripts/spank.sh || log "warning: the SPANK plugin was not built: --ctr tests will fail"
	if ! pid_alive "$SLURM_DIR/run/slurmctld.pid" slurmctld; then
		/usr/sbin/slurmctld || return 1
	fi
	for n in "${SLURM_NODES[@]}"; do
		if ! pid_alive "$SLURM_DIR/run/slurmd-$n.pid" slurmd; then
			/usr/sbin/slurmd -N "$n" || return 1
		fi
	done
	wait_for 30 "slurm nodes ${SLURM_NODES[*]} idle" slurm_nodes_idle || return 1
	# Smoke test as the unprivileged user: one task on each node.
	local out
	# (from /: the checkout may be private to root, and srun propagates the cwd)
	out=$(cd / && runuser -u "$PCOCC_TEST_USER" -- env SLURM_CONF="$SLURM_CONF" \
		timeout 60 srun -N2 -n2 -l sh -c 'echo $SLURMD_NODENAME' 2>&1) || {
		log "srun smoke test failed: $out"
		return 1
	}
	out=$(sort <<<"$out" | tr '\n' ' ')
	[[ $out == "0: n1 1: n2 " ]] || { log "srun smoke test: unexpected output: $out"; return 1; }
	log "slurm up: srun -N2 -n2 ran on n1 and n2"
}

start_docker() {
	local dockerd
	dockerd=$(command -v dockerd) || { log "dockerd not installed"; return 1; }
	install -d -m 0711 "$DOCKER_DIR" "$DOCKER_DIR/data" "$DOCKER_DIR/exec"
	if ! pid_alive "$DOCKER_DIR/dockerd.pid" dockerd; then
		setsid "$dockerd" --data-root "$DOCKER_DIR/data" --exec-root "$DOCKER_DIR/exec" \
			-H "unix://$DOCKER_SOCK" --pidfile "$DOCKER_DIR/dockerd.pid" --group docker \
			--bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
			--log-level warn </dev/null >"$DOCKER_DIR/dockerd.log" 2>&1 &
	fi
	wait_for 30 "dockerd" /usr/bin/docker -H "unix://$DOCKER_SOCK" version || {
		tail -5 "$DOCKER_DIR/dockerd.log" >&2; return 1; }
	log "dockerd up: $DOCKER_SOCK"
}

registry_ready() { (exec 3<>"/dev/tcp/${REGISTRY_ADDR%:*}/${REGISTRY_ADDR#*:}") 2>/dev/null; }

start_registry() {
	local reg
	reg=$(command -v docker-registry) || { log "docker-registry not installed"; return 1; }
	install -d -m 0755 "$S/registry" "$S/registry/data"
	cat >"$S/registry/config.yml" <<CONF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $S/registry/data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
CONF
	if ! pid_alive "$S/registry/registry.pid" docker-registry; then
		setsid "$reg" serve "$S/registry/config.yml" </dev/null >"$S/registry/registry.log" 2>&1 &
		echo $! >"$S/registry/registry.pid"
	fi
	wait_for 15 "docker-registry on $REGISTRY_ADDR" registry_ready || {
		tail -5 "$S/registry/registry.log" >&2; return 1; }
	log "docker-registry up: $REGISTRY_ADDR"
}

start() {
	install -d -m 0755 "$S"
	local env=$S/env.sh.tmp
	{
		echo "# Written by scripts/services.sh start; source it before running tests."
		echo "export PCOCC_CI_DIR=$S"
		[[ -f $S/containers.conf ]] && echo "export CONTAINERS_CONF=$S/containers.conf"
	} >"$env"
	if start_munge && start_slurm; then
		printf 'export SLURM_CONF=%s\nexport PCOCC_CI_SLURM=1\n' "$SLURM_CONF_FILE" >>"$env"
	else
		log "WARNING: Slurm is not available; tests that need it will be skipped"
		printf 'export SLURM_CONF=%s\n' "$SLURM_CONF_FILE" >>"$env"
	fi
	if start_docker; then
		printf 'export DOCKER_HOST=unix://%s\nexport PCOCC_CI_DOCKER=1\n' "$DOCKER_SOCK" >>"$env"
	else
		log "WARNING: dockerd is not available; tests that need it will be skipped"
	fi
	if start_registry; then
		printf 'export PCOCC_CI_REGISTRY=%s\n' "$REGISTRY_ADDR" >>"$env"
	else
		log "WARNING: docker-registry is not available"
	fi
	chmod 0644 "$env"
	mv "$env" "$S/env.sh"
	log "services started; environment in $S/env.sh"
}

stop() {
	for n in "${SLURM_NODES[@]}"; do stop_pidfile "$SLURM_DIR/run/slurmd-$n.pid" slurmd; done
	stop_pidfile "$SLURM_DIR/run/slurmctld.pid" slurmctld
	stop_pidfile "$S/munge/munged.pid" munged
	stop_pidfile "$S/registry/registry.pid" docker-registry
	stop_pidfile "$DOCKER_DIR/dockerd.pid" dockerd
	rm -f "$S/env.sh"
	log "services stopped"
}

case ${1:-} in
start) start ;;
stop) stop ;;
restart) stop; start ;;
*) echo "usage: $0 start|stop|restart" >&2; exit 2 ;;
esac
