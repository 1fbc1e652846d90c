#!/bin/bash
# test/root/vmsetup.sh BINDIR: the SPANK plugin's root side of VM clusters
# (pcocc-vm __vm-setup), without Slurm: two network-namespace "nodes" joined
# by a veth, an etcd of its own (auth enabled) in node 1, "guests" that are
# network namespaces whose tap is relayed to the job's tap by a process
# running as the job's user (as qemu would). Checks: the user (and not
# another) attaches to the tap, ping across the VXLAN and to the gateway,
# DHCP, reverse NAT to a guest's port 22, isolation of a second job, hostile
# inputs (one line, exit 2, nothing created), delete and reclaim leave
# nothing (links, namespaces, nft rules, trackers, etcd keys).
set -u
BIN=$(cd "$1" && pwd)
VM=$BIN/pcocc-vm
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
skip() { echo "vmsetup.sh: SKIP: $*"; exit 0; }
[[ $(id -u) == 0 ]] || skip "not root"
for t in etcd ip nft dnsmasq busybox curl socat setpriv $PY; do
	command -v "$t" >/dev/null || skip "$t is not installed"
done
id tester >/dev/null 2>&1 && id tester2 >/dev/null 2>&1 || skip "users tester and tester2 are absent"
[[ -c /dev/net/tun ]] || skip "no /dev/net/tun"

fails=0
fail() { echo "vmsetup.sh: FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "vmsetup.sh: ok: $*"; }
T=$(mktemp -d /tmp/pcocc-vmsetup.XXXXXX)
chmod 755 "$T"
tag=pvs$$
N1=${tag}n1 N2=${tag}n2
U1=$(id -u tester) G1=$(id -g tester) U2=$(id -u tester2)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	# whatever a failed check left: the holders are dead, reclaim it
	vmsetup "$N1" cleanup --etcd-password "$T/rootpw" --run-dir "$T/run" 2>/dev/null
	vmsetup "$N2" cleanup --etcd-password "$T/rootpw" --run-dir "$T/run" 2>/dev/null
	for ns in $(ip netns list | awk '{print $1}' | grep "^$tag"); do ip netns del "$ns"; done
	rm -rf "$T"
}
trap cleanup EXIT

# the nodes and etcd
ip netns add "$N1" && ip netns add "$N2" || exit 1
ip link add ${tag}a netns "$N1" type veth peer name ${tag}b netns "$N2"
ip -n "$N1" addr add 10.77.0.1/24 dev ${tag}a
ip -n "$N2" addr add 10.77.0.2/24 dev ${tag}b
for n in "$N1" "$N2"; do ip -n "$n" link set lo up; done
ip -n "$N1" link set ${tag}a up
ip -n "$N2" link set ${tag}b up
pw=$(head -c16 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$pw" >"$T/rootpw"
chmod 600 "$T/rootpw"
E=http://10.77.0.1:2379
ip netns exec "$N1" etcd --name t --data-dir "$T/etcd" --listen-client-urls $E --advertise-client-urls $E \
	--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
	--initial-cluster t=http://127.0.0.1:2380 --log-level error >"$T/etcd.log" 2>&1 &
pids+=($!)
ecurl() { ip netns exec "$N1" curl -sf --max-time 5 "$@"; }
for _ in $(seq 100); do ecurl $E/health >/dev/null && break; sleep 0.2; done
ecurl -X POST $E/v3/auth/user/add -d '{"name":"root","password":"'"$pw"'"}' >/dev/null &&
	ecurl -X POST $E/v3/auth/user/grant -d '{"user":"root","role":"root"}' >/dev/null &&
	ecurl -X POST $E/v3/auth/enable -d '{}' >/dev/null || { cat "$T/etcd.log"; fail "etcd with auth"; exit 1; }
b64() { printf %s "$1" | base64 -w0; }
# keys PREFIX: every key=value under PREFIX, as root
keys() {
	local tok
	tok=$(ecurl -X POST $E/v3/auth/authenticate -d '{"name":"root","password":"'"$pw"'"}' |
		$PY -c 'import json,sys; print(json.load(sys.stdin)["token"])')
	ecurl -H "Authorization: $tok" -X POST $E/v3/kv/range \
		-d '{"key":"'"$(b64 "$1")"'","range_end":"'"$(b64 "${1%/}0")"'"}' |
		$PY -c 'import json,sys,base64 as b
for kv in json.load(sys.stdin).get("kvs", []): print(b.b64decode(kv["key"]).decode() + "=" + b.b64decode(kv.get("value", "")).decode())'
}

mkdir -p "$T/etc"
cat >"$T/etc/networks.yaml" <<'Y'
cluster:
  type: ethernet
  settings:
    network: 10.200.0.0/24
    domain-name: pcocc
    reverse-nat: {vm-port: 22, min-host-port: 42000, max-host-port: 42099}
Y
printf 'type: slurm\nsettings:\n  etcd-servers: [10.77.0.1]\n  etcd-client-port: 2379\n' >"$T/etc/batch.yaml"
credA=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
credB=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb

# setup NODE_NS NODEID JOB UID TASKS TOTAL NODES CRED [ARG...]: runs create
# from a holder that stays (the job's "slurmstepd"); waits for its status.
setup() {
	local ns=$1 id=$2 job=$3 uid=$4 tasks=$5 total=$6 nodes=$7 cred=$8
	shift 8
	local f=$T/st.$job.$id
	ip netns exec "$ns" env PCOCC_SYSTEM_CONF_DIR="$T/etc" sh -c \
		'echo "$1" | "$2" __vm-setup create --job "$3" --step 0 --uid "$4" --gid "$4" --node-id "$5" --nodes "$6" --tasks "$7" --total "$8" --network cluster --etcd-password "$9" --run-dir "${10}" 2>"${11}.err"; echo $? >"${11}.tmp"; mv "${11}.tmp" "${11}"; exec sleep 600' \
		sh "$cred" "$VM" "$job" "$uid" "$id" "$nodes" "$tasks" "$total" "$T/rootpw" "$T/run" "$f" &
	pids+=($!)
	echo $! >"$f.pid"
	for _ in $(seq 300); do [[ -f $f ]] && break; sleep 0.1; done
	[[ $(cat "$f" 2>/dev/null) == 0 ]] || { fail "create job $job node $id: $(cat "$f" "$f.err" 2>/dev/null)"; return 1; }
}
vmsetup() { # vmsetup NODE_NS ARG...: a plain __vm-setup run
	local ns=$1
	shift
	ip netns exec "$ns" env PCOCC_SYSTEM_CONF_DIR="$T/etc" "$VM" __vm-setup "$@"
}
snapshot() {
	for n in "$N1" "$N2"; do
		echo "== $n"
		ip -n "$n" -o link show | awk -F': ' '{print $2}' | sed 's/@.*//'
		ip netns exec "$n" nft list ruleset
		find "$T/run" -type f ! -name setup.lock 2>/dev/null
	done
	ip netns list | awk '{print $1}' | grep -v "^$tag" | sort
	pgrep -a dnsmasq | grep -F "$T/" 
	keys /pcocc/
}
snapshot >"$T/before"

# hostile inputs: one line, exit 2, nothing created
hostile() {
	local what=$1
	shift
	local out rc
	out=$(echo "${CRED:-$credA}" | vmsetup "$N1" create "$@" 2>&1)
	rc=$?
	if [[ $rc != 2 || $(printf '%s\n' "$out" | wc -l) != 1 ]]; then
		fail "hostile $what: rc $rc, output: $out"
	fi
}
good=(--job 77 --step 0 --uid "$U1" --gid "$G1" --node-id 0 --nodes 10.77.0.1 --tasks 0 --total 1 --network cluster --etcd-password "$T/rootpw" --run-dir "$T/run")
hostile "job abc" "${good[@]}" --job abc
hostile "job 0" "${good[@]}" --job 0
hostile "job 2^32" "${good[@]}" --job 4294967296
hostile "uid 0" "${good[@]}" --uid 0
hostile "uid -5" "${good[@]}" --uid -5
hostile "network path" "${good[@]}" --network ../x
hostile "unknown network" "${good[@]}" --network nosuch
hostile "node name" "${good[@]}" --nodes 'a;b'
hostile "node id" "${good[@]}" --node-id 1
hostile "tasks twice" "${good[@]}" --total 2 --tasks 0,0
hostile "task beyond total" "${good[@]}" --tasks 1
hostile "total" "${good[@]}" --total 0
hostile "run dir" "${good[@]}" --run-dir rel
hostile "extra argument" "${good[@]}" extra
CRED=xyz hostile "credential" "${good[@]}"
CRED=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA hostile "credential case" "${good[@]}"
out=$(echo $credA | setpriv --reuid "$U1" --regid "$G1" --clear-groups "$VM" __vm-setup create "${good[@]}" 2>&1)
[[ $? == 2 && $out == *"must run as root"* ]] || fail "non-root: $out"
snapshot >"$T/after-hostile"
diff "$T/before" "$T/after-hostile" >/dev/null && ok "hostile inputs refused, nothing created" ||
	fail "hostile inputs left: $(diff "$T/before" "$T/after-hostile")"

# job A: vm0 on node 0, vm1 on node 1; job B: vm0 on node 0 (its only node)
setup "$N1" 0 4242 "$U1" 0 2 10.77.0.1,10.77.0.2 $credA || exit 1
setup "$N2" 1 4242 "$U1" 1 2 10.77.0.1,10.77.0.2 $credA || exit 1
setup "$N1" 0 4243 "$U2" 0 1 10.77.0.1 $credB || exit 1
env1=$T/run/vm/4242.0/task-0.env env2=$T/run/vm/4242.0/task-1.env env3=$T/run/vm/4243.0/task-0.env
for f in "$env1" "$env2" "$env3"; do
	[[ $(stat -c %U:%a "$f") == root:644 ]] || fail "$f: $(stat -c %U:%a "$f")"
done
cat "$env1"
grep -q '^PCOCC_VM_MTU=1450$' "$env1" || fail "MTU: $(cat "$env1")"
[[ $(stat -c %a "$T/run/tracker") == 700 ]] || fail "tracker dir mode $(stat -c %a "$T/run/tracker")"
val() { grep "^$1=" "$2" | cut -d= -f2; }

# guest NAME NODE_NS ENVFILE UID GID: a netns whose eth0 is relayed to the tap
guest() {
	local g=$tag$1 ns=$2 env=$3
	ip netns add "$g"
	ip -n "$g" link set lo up
	ip -n "$g" tuntap add eth0 mode tap
	ip -n "$g" link set eth0 address "$(val PCOCC_VM_MAC "$env")" mtu "$(val PCOCC_VM_MTU "$env")" up
	$PY "$here/vmsetup_relay.py" "$g" eth0 "$ns" "$(val PCOCC_VM_TAP "$env")" "$4" "$5" >"$T/relay.$1" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do grep -q attached "$T/relay.$1" && return 0; sleep 0.1; done
	fail "guest $1: $(cat "$T/relay.$1")"
}
# another user cannot attach to the job's tap
ip netns add ${tag}gx
ip -n ${tag}gx tuntap add eth0 mode tap
$PY "$here/vmsetup_relay.py" ${tag}gx eth0 "$N1" "$(val PCOCC_VM_TAP "$env1")" "$U2" "$U2" >"$T/relay.bad" 2>&1
[[ $? == 3 ]] && ok "tester2 cannot open tester's tap" || fail "tester2 opened tester's tap: $(cat "$T/relay.bad")"
ip netns del ${tag}gx
guest g1 "$N1" "$env1" "$U1" "$G1"
guest g2 "$N2" "$env2" "$U1" "$G1"
guest g3 "$N1" "$env3" "$U2" "$U2"
# g1 by DHCP (dnsmasq on node 0), the others static
dh=$(timeout 20 ip netns exec ${tag}g1 busybox udhcpc -i eth0 -n -q -t 5 -T 1 -s /bin/true 2>&1)
[[ $dh == *"lease of $(val PCOCC_VM_ADDR "$env1") obtained"* ]] && ok "DHCP lease" || fail "DHCP: $dh"
ip -n ${tag}g1 addr add "$(val PCOCC_VM_ADDR "$env1")/24" dev eth0
ip -n ${tag}g2 addr add "$(val PCOCC_VM_ADDR "$env2")/24" dev eth0
ip -n ${tag}g3 addr add "$(val PCOCC_VM_ADDR "$env3")/24" dev eth0
for g in g1 g2 g3; do ip -n $tag$g route add default via 10.200.0.1; done
pingok() { for _ in 1 2 3 4 5; do ip netns exec "$tag$1" busybox ping -c1 -W1 "$2" >/dev/null && return 0; done; return 1; }
pingok g1 "$(val PCOCC_VM_ADDR "$env2")" && ok "vm0 pings vm1 across the VXLAN" || fail "vm0 -> vm1 across the VXLAN"
pingok g2 10.200.0.1 && ok "vm1 pings the gateway on node 0" || fail "vm1 -> gateway"
ip netns exec ${tag}g3 busybox ping -c2 -W1 "$(val PCOCC_VM_ADDR "$env2")" >/dev/null &&
	fail "job B's guest reached job A's vm1" || ok "job B's guest cannot reach job A's vm1"
# reverse NAT: node 1's host port -> vm1:22, from node 0
ip netns exec ${tag}g2 socat TCP-LISTEN:22,fork,reuseaddr SYSTEM:'echo hello-vm1' &
pids+=($!)
hp=$(keys /pcocc/cluster/4242/rnat/1/ | cut -d= -f2)
[[ $hp == 10.77.0.2:420* ]] || fail "rnat key: '$hp' ($(keys /pcocc/cluster/4242/))"
sleep 0.3
got=$(ip netns exec "$N1" socat -T3 - "TCP:$hp" 2>&1)
[[ $got == hello-vm1 ]] && ok "reverse NAT $hp -> vm1:22" || fail "reverse NAT $hp: '$got'"
[[ $(keys /pcocc/cluster/4242/owner) == "/pcocc/cluster/4242/owner=$U1" ]] || fail "owner key: $(keys /pcocc/cluster/4242/)"
[[ $(keys /pcocc/cluster/4242/node/ | grep -c '"state":"complete"') == 2 ]] || fail "node keys: $(keys /pcocc/cluster/4242/node/)"

# delete job A on both nodes, job B by reclaim (its "slurmstepd" killed)
vmsetup "$N1" delete --job 4242 --node-id 0 --etcd-password "$T/rootpw" --run-dir "$T/run" || fail "delete job A node 0"
vmsetup "$N2" delete --job 4242 --node-id 1 --etcd-password "$T/rootpw" --run-dir "$T/run" || fail "delete job A node 1"
kill "$(cat "$T/st.4243.0.pid")"
sleep 0.3
vmsetup "$N1" cleanup --etcd-password "$T/rootpw" --run-dir "$T/run" || fail "cleanup"
for g in g1 g2 g3; do ip netns del $tag$g; done
snapshot >"$T/after"
diff "$T/before" "$T/after" >"$T/diff" && ok "delete and reclaim left nothing" || fail "left after delete: $(cat "$T/diff")"
[[ -z $(ls "$T/run/vm" 2>/dev/null | grep -v '^\(/.*:\)\?$') ]] || fail "env files left: $(ls -R "$T/run/vm")"
if ((fails)); then
	echo "vmsetup.sh: $fails failure(s)"
	exit 1
fi
echo "vmsetup.sh: PASS"
