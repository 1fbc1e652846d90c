#!/usr/bin/env bash
# Starts or stops the daemons the tests need, all private to $PCOCC_CI_DIR so
# they never clash with the host's own (system munged, dockerd, slurm):
#   fabric            bridge pcoccfab0 10.90.0.1/24 in the root namespace (the
#                     "login" node, named pcocc-login), network namespaces
#                     pcocc-n1 and pcocc-n2 (10.90.0.11, .12) joined to it by
#                     veths, /etc/hosts lines for the three names (a marked block)
#   munged            socket $PCOCC_CI_DIR/munge/munge.socket, private key
#   slurmctld         SLURM_CONF=$PCOCC_CI_DIR/slurm/slurm.conf, port 16817,
#                     root namespace, reached by the nodes on 10.90.0.1
#   slurmd n1, n2     one in each node namespace (own hostname: a UTS namespace)
#   etcd              etcd-server as user etcd, data in $PCOCC_CI_DIR/etcd,
#                     10.90.0.1:2379 and 127.0.0.1:2379, auth on; root's
#                     password in $PCOCC_CI_DIR/etcd/root-password (root, 0600)
#   dockerd           socket $PCOCC_CI_DIR/docker/docker.sock, no networking
#   docker-registry   127.0.0.1:15000
# Where the machine cannot make network namespaces, one line says so and both
# slurmd run on localhost (ports 17001 and 17002), etcd on loopback only.
#
# `start` writes $PCOCC_CI_DIR/env.sh (SLURM_CONF, DOCKER_HOST, ...) for the
# tests to source. A service that fails to start is reported and left out of
# env.sh (PCOCC_CI_SLURM / PCOCC_CI_FABRIC / PCOCC_TEST_ETCD / PCOCC_CI_DOCKER
# / PCOCC_CI_REGISTRY stay unset): the tests that need it skip. `stop` kills
# what `start` started, by pidfile, and removes the fabric. Run as root.
#
# A second set beside the shared one (to try changes to this script):
# PCOCC_CI_DIR=/var/tmp/pcocc-x PCOCC_CI_INSTANCE=1 bash scripts/services.sh start
# Instance N uses bridge pcoccfabN on 10.(90+N).0.0/24, namespaces
# pcocc-n1-N and pcocc-n2-N, host names pcocc-N-login, pcocc-N-n1, ..., every
# port plus 100*N. PCOCC_CI_SERVICES (default "slurm etcd docker registry")
# picks the services. `start` records the instance in $PCOCC_CI_DIR/instance;
# stop and restart read it back.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
need_root

S=$PCOCC_CI_DIR
if [[ -z ${PCOCC_CI_INSTANCE:-} && -s $S/instance ]]; then PCOCC_CI_INSTANCE=$(<"$S/instance"); fi
I=${PCOCC_CI_INSTANCE:-0}
[[ $I =~ ^[0-9]$ ]] || die "PCOCC_CI_INSTANCE=$I: want one digit"
SERVICES=" ${PCOCC_CI_SERVICES:-slurm etcd docker registry} "
PORT_OFF=$((I * 100))
MUNGE_SOCKET=$S/munge/munge.socket
SLURM_DIR=$S/slurm
SLURM_CONF_FILE=$SLURM_DIR/slurm.conf
DOCKER_DIR=$S/docker
DOCKER_SOCK=$DOCKER_DIR/docker.sock
REGISTRY_ADDR=127.0.0.1:$((15000 + PORT_OFF))
SLURM_NODES=(n1 n2)
SLURMCTLD_PORT=$((16817 + PORT_OFF))
SLURM_TMP=/tmp/pcocc-ci$I
# The cluster's name: that of the first instance is unchanged, since
# slurmctld refuses a state directory saved under another name (CI machines
# keep $PCOCC_CI_DIR between runs).
SLURM_CLUSTER=pcocc-ci
((I == 0)) || SLURM_CLUSTER=pcocc-ci$I
ETCD_DIR=$S/etcd
ETCD_PORT=$((2379 + PORT_OFF))
ETCD_PEER_PORT=$((2380 + PORT_OFF))

. scripts/fabric.sh

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
	local n layout ctld nodes= mem
	# Memory a job may ask for (the Docker environment's --mem-per-cpu):
	# each node is the whole machine; slurmd drains a node that has less.
	mem=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
	if ((FABRIC)); then
		# The nodes reach slurmctld on the bridge; srun and salloc, run in the
		# root namespace, are called back on the address the nodes see them
		# from (the bridge's).
		layout="nodes in network namespaces on $FAB_BRIDGE" ctld="localhost($FAB_ADDR)"
		for n in "${SLURM_NODES[@]}"; do
			nodes+="NodeName=$n NodeHostname=$n NodeAddr=$(fab_addr "$n") Port=$((17000 + PORT_OFF + ${n#n})) CPUs=8 RealMemory=$mem State=UNKNOWN"$'\n'
		done
	else
		layout="on localhost" ctld=localhost
		for n in "${SLURM_NODES[@]}"; do
			nodes+="NodeName=$n NodeHostname=localhost NodeAddr=127.0.0.1 Port=$((17000 + PORT_OFF + ${n#n})) CPUs=8 RealMemory=$mem State=UNKNOWN"$'\n'
		done
	fi
	nodes=${nodes%$'\n'}
	install -d -m 0755 "$SLURM_DIR" "$SLURM_DIR/plugstack.conf.d"
	install -d -m 0755 -o slurm -g slurm "$SLURM_DIR/ctld" "$SLURM_DIR/log" "$SLURM_DIR/run"
	for n in "${SLURM_NODES[@]}"; do install -d -m 1777 "$SLURM_TMP-$n"; done
	cat >"$SLURM_CONF_FILE" <<CONF
# Written by scripts/services.sh: a private two-node cluster ($layout).
ClusterName=$SLURM_CLUSTER
SlurmctldHost=$ctld
SlurmctldPort=$SLURMCTLD_PORT
SlurmUser=slurm
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
CredType=cred/munge
StateSaveLocation=$SLURM_DIR/ctld
SlurmdSpoolDir=$SLURM_DIR/spool-%n
# Each node's own (the PMIx plugin makes its client directories there: on one
# shared /tmp, two nodes' spmix_appdir_UID_JOB.STEP clash), under /tmp, which
# containers see (Open MPI makes its session directory below it).
TmpFS=$SLURM_TMP-%n
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
$nodes
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

stop_slurm() {
	for n in "${SLURM_NODES[@]}"; do
		# slurmd-keep.sh ends with the slurmd it was told to let go.
		[[ ! -d $SLURM_DIR/run ]] || : >"$SLURM_DIR/run/slurmd-$n.stop"
		stop_pidfile "$SLURM_DIR/run/slurmd-$n.pid" slurmd
		stop_pidfile "$SLURM_DIR/run/slurmd-keep-$n.pid" slurmd-keep.sh
	done
	stop_pidfile "$SLURM_DIR/run/slurmctld.pid" slurmctld
}

# start_slurmd NODE: slurmd in the foreground under scripts/slurmd-keep.sh,
# detached (its own session), in the node's namespaces with a fabric.
start_slurmd() {
	local n=$1 keep=$PWD/scripts/slurmd-keep.sh
	local -a in=()
	((FABRIC)) && in=(nsenter --net="/run/netns/$(fab_netns "$n")")
	setsid "${in[@]}" unshare --uts sh -c '[ "$4" = 0 ] || hostname "$1"; echo $$ >"$3"; exec "$2" "$1" "$5"' \
		sh "$n" "$keep" "$SLURM_DIR/run/slurmd-keep-$n.pid" "$FABRIC" "$SLURM_DIR" </dev/null >/dev/null 2>&1 &
}

start_slurm() {
	export SLURM_CONF=$SLURM_CONF_FILE
	local old=
	[[ ! -f $SLURM_CONF_FILE ]] || old=$(<"$SLURM_CONF_FILE")
	write_slurm_conf
	if [[ -n $old && $old != "$(<"$SLURM_CONF_FILE")" ]]; then
		# Daemons running on another layout (the fabric came or went) would
		# keep it: start them afresh.
		log "slurm.conf changed: restarting slurmctld and slurmd"
		stop_slurm
	fi
	local etcd_host=127.0.0.1
	((FABRIC)) && etcd_host=$FAB_ADDR
	PCOCC_SPANK_ETCD_HOST=$etcd_host PCOCC_SPANK_ETCD_PORT=$ETCD_PORT PCOCC_SPANK_ETCD_PASSWORD=$ETCD_DIR/root-password \
		bash scripts/spank.sh || log "warning: the SPANK plugin was not built: --ctr tests will fail"
	if ! pid_alive "$SLURM_DIR/run/slurmctld.pid" slurmctld; then
		/usr/sbin/slurmctld || return 1
	fi
	for n in "${SLURM_NODES[@]}"; do
		# (a loop whose slurmd just died starts it again itself)
		pid_alive "$SLURM_DIR/run/slurmd-keep-$n.pid" slurmd-keep.sh && continue
		start_slurmd "$n"
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
	if ((FABRIC)); then
		out=$(cd / && runuser -u "$PCOCC_TEST_USER" -- env SLURM_CONF="$SLURM_CONF" \
			timeout 60 srun -N2 -n2 -l hostname 2>&1 | sort | tr '\n' ' ') || true
		[[ $out == "0: n1 1: n2 " ]] || { log "srun smoke test: hostnames: $out"; return 1; }
	fi
	log "slurm up: srun -N2 -n2 ran on n1 and n2"
}

# etcd runs as user etcd (Debian's etcd-server makes it): its data directory
# is its own (0700), root's password file is root's (0600), so neither the
# daemon nor the test users can read the other's secrets.
etcd_endpoints() {
	local e=
	((FABRIC)) && e="http://$FAB_ADDR:$ETCD_PORT,"
	echo "${e}http://127.0.0.1:$ETCD_PORT"
}

etcd_healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }

# etcd_ctl ARGS...: etcdctl as etcd's root (the credential in the environment,
# never in argv).
etcd_ctl() {
	ETCDCTL_USER="root:$(<"$ETCD_DIR/root-password")" \
		etcdctl --endpoints="127.0.0.1:$ETCD_PORT" --dial-timeout=5s "$@"
}

# etcd_auth: root user with the password of the file, auth enabled; idempotent.
etcd_auth() {
	local pw
	pw=$(<"$ETCD_DIR/root-password")
	if etcd_ctl user get root >/dev/null 2>&1 &&
		! etcdctl --endpoints="127.0.0.1:$ETCD_PORT" get --limit=1 / >/dev/null 2>&1; then
		return 0   # set up by an earlier start
	fi
	# Before auth is on, through the HTTP gateway: the password goes on stdin.
	printf '{"name":"root","password":"%s"}' "$pw" |
		curl -fsS --max-time 5 -d @- "http://127.0.0.1:$ETCD_PORT/v3/auth/user/add" >/dev/null || return 1
	printf '{"user":"root","role":"root"}' |
		curl -fsS --max-time 5 -d @- "http://127.0.0.1:$ETCD_PORT/v3/auth/user/grant" >/dev/null || return 1
	etcdctl --endpoints="127.0.0.1:$ETCD_PORT" auth enable >/dev/null || return 1
	etcd_ctl user get root >/dev/null
}

start_etcd() {
	local etcd urls
	etcd=$(command -v etcd) || { log "etcd not installed (etcd-server)"; return 1; }
	install -d -m 0755 "$ETCD_DIR"
	if [[ ! -s $ETCD_DIR/root-password ]]; then
		# A new password: an old store holds another one.
		stop_pidfile "$ETCD_DIR/etcd.pid" etcd
		rm -rf "$ETCD_DIR/data"
		(umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$ETCD_DIR/root-password")
	fi
	chown root:root "$ETCD_DIR/root-password"
	chmod 0600 "$ETCD_DIR/root-password"
	install -d -m 0700 -o etcd -g etcd "$ETCD_DIR/data"
	urls=$(etcd_endpoints)
	if [[ $(cat "$ETCD_DIR/urls" 2>/dev/null) != "$urls" ]]; then
		stop_pidfile "$ETCD_DIR/etcd.pid" etcd   # listening elsewhere (the fabric came or went)
		echo "$urls" >"$ETCD_DIR/urls"
	fi
	if ! pid_alive "$ETCD_DIR/etcd.pid" etcd; then
		setsid setpriv --reuid=etcd --regid=etcd --init-groups "$etcd" --name "pcocc-ci$I" \
			--data-dir "$ETCD_DIR/data" --listen-client-urls "$urls" --advertise-client-urls "$urls" \
			--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
			--initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
			--initial-cluster "pcocc-ci$I=http://127.0.0.1:$ETCD_PEER_PORT" \
			--logger zap --log-level warn </dev/null >"$ETCD_DIR/etcd.log" 2>&1 &
		echo $! >"$ETCD_DIR/etcd.pid"
	fi
	wait_for 20 "etcd on 127.0.0.1:$ETCD_PORT" etcd_healthy || { tail -5 "$ETCD_DIR/etcd.log" >&2; return 1; }
	etcd_auth || { log "etcd: could not enable auth (remove $ETCD_DIR/root-password to start afresh)"; return 1; }
	log "etcd up: $urls (auth on, root's password in $ETCD_DIR/root-password)"
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

want() { [[ $SERVICES == *" $1 "* ]]; }

start() {
	install -d -m 0755 "$S"
	echo "$I" >"$S/instance"
	local env=$S/env.sh.tmp t0=$SECONDS
	{
		echo "# Written by scripts/services.sh start; source it before running tests."
		echo "export PCOCC_CI_DIR=$S"
		[[ -f $S/containers.conf ]] && echo "export CONTAINERS_CONF=$S/containers.conf"
	} >"$env"
	if want slurm || want etcd; then
		fabric_up "${SLURM_NODES[@]}" || true
	fi
	if ((FABRIC)); then
		printf 'export PCOCC_CI_FABRIC=1\nexport PCOCC_CI_FABRIC_LOGIN=%s\n' "$FAB_ADDR" >>"$env"
		printf 'export PCOCC_CI_FABRIC_NODES="%s"\n' "$(for n in "${SLURM_NODES[@]}"; do
			printf '%s=%s ' "$n" "$(fab_addr "$n")"; done | sed 's/ $//')" >>"$env"
	fi
	if want slurm; then
		if start_munge && start_slurm; then
			printf 'export SLURM_CONF=%s\nexport PCOCC_CI_SLURM=1\n' "$SLURM_CONF_FILE" >>"$env"
		else
			log "WARNING: Slurm is not available; tests that need it will be skipped"
			printf 'export SLURM_CONF=%s\n' "$SLURM_CONF_FILE" >>"$env"
		fi
	fi
	if want etcd; then
		if start_etcd; then
			printf 'export PCOCC_TEST_ETCD=%s\nexport PCOCC_TEST_ETCD_PASSWORD_FILE=%s\n' \
				"$(etcd_endpoints)" "$ETCD_DIR/root-password" >>"$env"
		else
			log "WARNING: etcd is not available; tests that need it will be skipped"
		fi
	fi
	if want docker; then
		if start_docker; then
			printf 'export DOCKER_HOST=unix://%s\nexport PCOCC_CI_DOCKER=1\n' "$DOCKER_SOCK" >>"$env"
		else
			log "WARNING: dockerd is not available; tests that need it will be skipped"
		fi
	fi
	if want registry; then
		if start_registry; then
			printf 'export PCOCC_CI_REGISTRY=%s\n' "$REGISTRY_ADDR" >>"$env"
		else
			log "WARNING: docker-registry is not available"
		fi
	fi
	chmod 0644 "$env"
	mv "$env" "$S/env.sh"
	log "services started in $((SECONDS - t0)) s; environment in $S/env.sh"
}

stop() {
	stop_slurm
	stop_pidfile "$S/munge/munged.pid" munged
	stop_pidfile "$ETCD_DIR/etcd.pid" etcd
	stop_pidfile "$S/registry/registry.pid" docker-registry
	stop_pidfile "$DOCKER_DIR/dockerd.pid" dockerd
	fabric_down "${SLURM_NODES[@]}"
	rm -f "$S/env.sh"
	log "services stopped"
}

case ${1:-} in
start) start ;;
stop) stop ;;
restart) stop; start ;;
*) echo "usage: $0 start|stop|restart" >&2; exit 2 ;;
esac
