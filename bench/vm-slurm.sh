#!/usr/bin/env bash
# bench/vm-slurm.sh: VM clusters under Slurm (issue 15), as the user, on a
# Slurm whose plugin has the VM path (srun --vm; scripts/services.sh and
# scripts/spank.sh set one up with two slurmd in network namespaces).
# Prints a markdown table. TCG is forced; on one machine the "nodes" share
# its cores, so a row compares pcocc's paths, not a real network.
#
# Rows (median of RUNS):
#   plugin set-up            srun -N2 -n2 --vm=cluster true against
#                            srun -N2 -n2 true: the plugin's work per step
#                            (bridge, taps, VXLAN, router namespace, etcd),
#                            on two nodes at once
#   alloc to ready, 1 node   pcocc alloc -E of tiny:2 with both VMs on one
#                            node (batch-args -N 1), from the command's start
#                            until the script saw both guests' READY markers
#                            on their consoles
#   alloc to ready, 2 nodes  the same, one VM per node (--ntasks-per-node=1)
#   guest-to-guest, 1 node   64 MiB from vm0 to vm1 (busybox dd | nc, timed by
#                            the receiver, as bench/vm-net.sh), same node
#   guest-to-guest, 2 nodes  the same across the nodes (VXLAN)
# Environment: SLURM_CONF, ETCD (the etcd the clusters' state is in, as
# http://HOST:PORT; default: the first of $PCOCC_TEST_ETCD), PCOCC_VM_IMAGES
# (tiny guest), PCOCC_BIN_DIR (default bin), RUNS (default 3), NETWORK
# (default cluster: the plugin's network of networks.yaml), ROWS (default
# "setup alloc net").
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SLURM_CONF:?source env.sh of scripts/services.sh}"
ETCD=${ETCD:-${PCOCC_TEST_ETCD%%,*}}
[[ $ETCD =~ ^(https?)://([^:/]+):([0-9]+)/?$ ]] || { echo "ETCD=$ETCD: want http://HOST:PORT" >&2; exit 2; }
ETCD_PROTO=${BASH_REMATCH[1]} ETCD_HOST=${BASH_REMATCH[2]} ETCD_PORT=${BASH_REMATCH[3]}
G=${PCOCC_VM_IMAGES:?set PCOCC_VM_IMAGES (scripts/vm-images.sh builds the tiny guest there)}/tiny
BIN=$(cd "${PCOCC_BIN_DIR:-bin}" && pwd)
RUNS=${RUNS:-3}
NETWORK=${NETWORK:-cluster}
ROWS=${ROWS:-setup alloc net}
W=$(mktemp -d /var/tmp/pcocc-vmslurm-XXXXXX)
trap 'rm -rf "$W"' EXIT
export HOME=$W/home XDG_DATA_HOME=$W/data XDG_RUNTIME_DIR=$W/rt PCOCC_VM_ACCEL=tcg
export PCOCC_SYSTEM_CONF_DIR=$W/etc PCOCC_CONFIG_PATH=$W/conf PATH=$BIN:$PATH
mkdir -p "$HOME" "$PCOCC_SYSTEM_CONF_DIR" "$PCOCC_CONFIG_PATH" && mkdir -m 0700 "$XDG_RUNTIME_DIR"
. bench/tiny.sh
tiny_setup "$G"
# batch-args place the VMs: all on one node, or one per node.
# etcd: where the commands run from the allocation (console) find the VMs.
placement() {
	printf 'type: slurm\nsettings:\n  batch-args: [%s]\n  etcd-servers: [%s]\n  etcd-client-port: %s\n  etcd-protocol: %s\n' \
		"$1" "$ETCD_HOST" "$ETCD_PORT" "$ETCD_PROTO" >"$PCOCC_SYSTEM_CONF_DIR/batch.yaml"
}

now() { date +%s.%N; }
fail() { echo "pcocc alloc failed:" >&2; tail -5 "$W/alloc.out" >&2; exit 1; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_of() { local t0; t0=$(now); "$@" >/dev/null 2>&1; echo "$(now) - $t0" | bc -l; }
row() { printf '| %s | %s |\n' "$1" "$2"; }

# Both guests ready: their consoles (pcocc console -l, an srun --overlap
# each) show the marker.
READY='for v in vm0 vm1; do until pcocc console -l $v | grep -q PCOCC-TINY-GUEST-READY; do sleep 0.5; done; done'

alloc_ready() {
	local t0
	t0=$(now)
	pcocc alloc -E "$READY; date +%s.%N >$W/ready" tiny:2 >"$W/alloc.out" 2>&1 || fail
	echo "$(cat "$W/ready") - $t0" | bc -l
}

# The transfer of bench/vm-net.sh, through the consoles.
SEND='dd if=/dev/zero bs=64k count=1024 2>/dev/null | nc %s 5001; echo SENT-$((6*7))'
RECV='nc -l -p 5001 | (head -c 1 >/dev/null; a=$(cut -d" " -f1 /proc/uptime); n=$(wc -c); b=$(cut -d" " -f1 /proc/uptime); echo "RX $((n+1)) $a $b")'
mibps() { awk '{printf "%.1f\n", $2 / 1048576 / ($4 - $3)}' <<<"$1"; }
net_run() {
	local s
	rm -f "$W/stop" "$W/rx"
	s=$(printf '%s' "$READY"'
(sleep 1; echo '"'$RECV'"'; until [ -e '$W'/stop ]; do sleep 0.5; done) | pcocc console vm1 >/dev/null & sleep 4
(sleep 1; echo '"'$(printf "$SEND" vm1)'"'; until [ -e '$W'/stop ]; do sleep 0.5; done) | pcocc console vm0 >/dev/null &
until pcocc console -l vm1 | grep -a -o -E "RX [0-9]+ [0-9.]+ [0-9.]+" >'$W'/rx; do sleep 1; done; touch '$W'/stop; wait')
	pcocc alloc -E "$s" tiny:2 >"$W/alloc.out" 2>&1 || fail
	mibps "$(cat "$W/rx")"
}

echo "| what (TCG, tiny guests, median of $RUNS) | value |"
echo "|---|---|"
if [[ " $ROWS " == *" setup "* ]]; then
	declare -a plain vm
	for ((r = 0; r < RUNS; r++)); do
		plain+=("$(time_of srun -N2 -n2 true)")
		vm+=("$(PCOCC_ETCD_CRED=$(head -c16 /dev/urandom | od -An -tx1 | tr -d ' \n') time_of srun -N2 -n2 --vm="$NETWORK" true)")
	done
	row "srun -N2 -n2 true" "$(printf '%.3f s' "$(median "${plain[@]}")")"
	row "srun -N2 -n2 --vm=$NETWORK true (the plugin's set-up and teardown on both nodes)" "$(printf '%.3f s' "$(median "${vm[@]}")")"
fi
for where in one two; do
	case $where in
	one) placement '"-N", "1"' ;;
	two) placement '"--ntasks-per-node=1"' ;;
	esac
	if [[ " $ROWS " == *" alloc "* ]]; then
		declare -a ready=()
		for ((r = 0; r < RUNS; r++)); do ready+=("$(alloc_ready)"); done
		row "pcocc alloc tiny:2 to both guests ready, $where node(s)" "$(printf '%.1f s' "$(median "${ready[@]}")")"
	fi
	if [[ " $ROWS " == *" net "* ]]; then
		declare -a mb=()
		for ((r = 0; r < RUNS; r++)); do mb+=("$(net_run)"); done
		row "guest-to-guest 64 MiB, $where node(s)" "$(median "${mb[@]}") MiB/s"
	fi
done
