#!/usr/bin/env bash
# VM clusters of two users on the same Slurm nodes, then scancel (issue 15):
#  - tester's cluster A: 2 tiny VMs, one per node (-N 2, passed to sbatch);
#    vm0 pings vm1 by name (the positive control of the ping);
#  - tester2's cluster B: 1 VM on n2, beside A's vm1: it pings its own
#    gateway, but neither pings nor connects to A's vm1's address (every
#    cluster has the same subnet; a shared bridge or VNI would answer);
#    tester2's pcocc cannot reach A by its job id either;
#  - B's QEMU killed (SIGKILL): B ends by itself, its output says why, and
#    nothing of it is left (below), while A's objects are still there;
#  - scancel A (as tester): once Slurm no longer lists it, no tap, bridge,
#    VXLAN, veth, network namespace, nft table, tracker or etcd key of A is
#    left on either node.
# 3 TCG VMs run at once for about a minute.
# As root, with Slurm, etcd and the plugin's VM path up (scripts/services.sh);
# called by scripts/run-e2e.sh: slurm_vm_cluster.sh BINDIR VMIMAGES PLUGSTACK_CONF.
set -uo pipefail
bin=$1 images=$2 conf=$3
skip() { echo "slurm_vm_cluster.sh: SKIP: $*"; exit 0; }
fail() { echo "slurm_vm_cluster.sh: FAIL: $*"; fails=$((fails + 1)); }
[[ $(id -u) == 0 ]] || { echo "slurm_vm_cluster.sh: run as root" >&2; exit 2; }
[[ ${PCOCC_CI_FABRIC:-} == 1 ]] || skip "no CI fabric (PCOCC_CI_FABRIC=1 from \$PCOCC_CI_DIR/env.sh)"
vmconf=$(grep -o 'conf-dir=/[^ ]*' "$conf" 2>/dev/null | cut -d= -f2)
pwfile=$(grep -o 'etcd-password=/[^ ]*' "$conf" 2>/dev/null | cut -d= -f2)
[[ -n $vmconf && -n $pwfile ]] || skip "$conf has no etcd-password= and conf-dir= (the VM path is not installed)"
[[ -f $images/tiny/vmlinuz ]] || skip "no tiny guest in $images/tiny (scripts/vm-images.sh)"
id tester2 >/dev/null 2>&1 || skip "no user tester2 (scripts/deps.sh)"
etcd=$(grep -o 'http[s]*://[^,]*' <<<"${PCOCC_TEST_ETCD:-}" | head -1)
[[ -n $etcd ]] || skip "no etcd (PCOCC_TEST_ETCD)"
fails=0 jobs=()
work=$(mktemp -d /var/tmp/pcocc-vmc-XXXXXX)
chmod 0755 "$work"
cleanup() {
	for j in "${jobs[@]}"; do scancel "$j" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT

# as USER CMD...: CMD as USER with a pcocc configuration of their own under
# $work: the tiny template, batch.yaml of the plugin's (type: slurm, etcd).
as() {
	local u=$1 h=$work/$1
	shift
	(cd "$h" && runuser -u "$u" -- env HOME="$h" PATH="$bin:$PATH" SLURM_CONF="$SLURM_CONF" \
		PCOCC_SYSTEM_CONF_DIR="$h/etc" PCOCC_CONFIG_PATH="$h/conf" XDG_RUNTIME_DIR="$h/rt" PCOCC_VM_ACCEL=tcg "$@")
}
for u in tester tester2; do
	install -d -o "$u" -m 0700 "$work/$u" "$work/$u/rt"
	install -d -o "$u" -m 0755 "$work/$u/etc" "$work/$u/conf"
	cp "$vmconf/batch.yaml" "$work/$u/etc/batch.yaml"
	printf 'tiny:\n  image: user:tinydisk\n  kernel: %s\n  initrd: %s\n  append: console=ttyS0 quiet panic=-1\n  ports: [8080]\n' \
		"$images/tiny/vmlinuz" "$images/tiny/initrd.gz" >"$work/$u/conf/templates.yaml"
	as "$u" pcocc image import "$images/tiny/disk.qcow2" tinydisk >/dev/null || fail "$u: image import"
done
((fails == 0)) || exit 1

# submit USER NAME SBATCH-OPTIONS... DEF: the job id of a pcocc batch.
submit() {
	local u=$1 name=$2 out
	shift 2
	out=$(as "$u" pcocc batch -J "$name" -o "$work/$u/out-%j" -E 'sleep 600' "$@") || { echo "$out"; return 1; }
	sed -n 's/^Submitted batch job \([0-9]*\)$/\1/p' <<<"$out"
}
# ready USER JOB VM: the guest has printed its ready line.
ready() {
	for _ in $(seq 180); do
		as "$1" pcocc console -l -j "$2" "$3" 2>/dev/null | grep -qa PCOCC-TINY-GUEST-READY && return 0
		sleep 1
	done
	return 1
}
# typed USER JOB VM LINE: what the VM's console shows for 8 s after LINE.
typed() {
	(sleep 1; echo "$4"; sleep 8) | as "$1" pcocc console -j "$2" "$3" 2>&1
}

start=$SECONDS
A=$(submit tester "vmc-a-$$" -N 2 tiny:2) && jobs+=("$A") || { fail "tester's batch: $A"; exit 1; }
B=$(submit tester2 "vmc-b-$$" -w n2 tiny:1) && jobs+=("$B") || { fail "tester2's batch: $B"; exit 1; }
ready tester "$A" vm0 && ready tester "$A" vm1 && ready tester2 "$B" vm0 || {
	fail "the guests did not boot: $(squeue -h -j "$A,$B" -o '%i %T %N' 2>&1)"
	tail -n 20 "$work/tester/out-$A" "$work/tester2/out-$B" 2>&1
	exit 1
}
nodes=$(squeue -h -j "$A" -o %N)
[[ $nodes == "n[1-2]" ]] || fail "cluster A is on $nodes, not on both nodes"
echo "slurm_vm_cluster.sh: A=$A on $nodes, B=$B on $(squeue -h -j "$B" -o %N), guests up in $((SECONDS - start)) s"

typed tester "$A" vm0 'ping -c 1 -W 5 vm1 >/dev/null && echo PING-$((6*7))' | grep -qa PING-42 ||
	fail "A's vm0 does not ping A's vm1 by name"
addr=$(as tester pcocc console -l -j "$A" vm1 | sed -n 's/.*PCOCC-TINY-GUEST-NET ip=\([0-9.]*\)\/.*/\1/p' | head -1)
[[ $addr =~ ^[0-9.]+$ ]] || fail "A's vm1 printed no address"
out=$(typed tester2 "$B" vm0 "gw=\$(ip route | awk '/default/{print \$3}'); ping -c 1 -W 5 \$gw >/dev/null && echo GW-\$((6*7));
ping -c 2 -W 2 $addr >/dev/null && echo LEAK-PING-\$((6*7)); nc -w 2 $addr 8080 </dev/null; echo DONE-\$((6*7))")
grep -qa GW-42 <<<"$out" || fail "B's vm0 does not ping its gateway (the control): $out"
grep -qa DONE-42 <<<"$out" || fail "B's vm0 did not run the checks: $out"
grep -qa -e LEAK-PING-42 -e 'pcocc-tiny' <<<"$out" && fail "tester2's VM reaches tester's vm1 ($addr): $out"
as tester2 pcocc nc -j "$A" vm1 8080 </dev/null 2>/dev/null | grep -q pcocc-tiny && fail "tester2's pcocc nc -j $A reaches tester's vm1"
as tester2 pcocc console -l -j "$A" vm0 2>/dev/null | grep -qa PCOCC-TINY && fail "tester2 reads tester's console"

# node_objects JOB: what a job has on the nodes and in etcd, one a line.
b36() { local n=$1 s= d=0123456789abcdefghijklmnopqrstuvwxyz; while ((n > 0)); do s=${d:n%36:1}$s; n=$((n / 36)); done; echo "$s"; }
etcdget() { ETCDCTL_API=3 etcdctl --endpoints="$etcd" --user="root:$(<"$pwfile")" get "$@" 2>/dev/null; }
node_objects() {
	local j=$1 k n
	k=$(b36 "$j")
	for n in pcocc-n1 pcocc-n2; do
		ip netns exec "$n" ip -o link show | grep -oE "\<pc[btxghn]$k(v[0-9a-z]+)?\>" | sed "s/^/$n link /"
		ip netns exec "$n" nft list tables | grep -E "\<pcocc_$k$" | sed "s/^/$n nft /"
	done
	ip netns list | grep -oE "^pcocc-$k-[0-9]+" | sed 's/^/netns /'
	ls /run/pcocc/tracker 2>/dev/null | grep "^$j\." | sed 's/^/tracker /'
	etcdget --prefix --keys-only "/pcocc/cluster/$j/" | grep . | sed 's/^/etcd /'
	etcdget --prefix --keys-only "/pcocc/user/" | grep "^/pcocc/user/[0-9]*/$j/" | sed 's/^/etcd /'
	etcdget --prefix /pcocc/global/vni/ | paste - - | awk -v j="$j" '$2 == j {print "etcd " $1}'
}
# gone JOB WHAT: once Slurm no longer lists JOB, nothing of it is left (the
# exit callbacks may end after squeue: 10 s more).
gone() {
	local j=$1 left
	for _ in $(seq 120); do [[ -z $(squeue -h -j "$j" -o %i 2>/dev/null) ]] && break; sleep 0.5; done
	[[ -z $(squeue -h -j "$j" -o %i 2>/dev/null) ]] || fail "job $j still in squeue 60 s after $2"
	for _ in $(seq 50); do left=$(node_objects "$j"); [[ -z $left ]] && break; sleep 0.2; done
	[[ -z $left ]] || fail "left of job $j after $2:"$'\n'"$left"
}
before=$(node_objects "$A")
for want in "pcocc-n1 link pcb" "pcocc-n2 link pcb" "pcocc-n1 link pct" "pcocc-n2 link pct" "pcocc-n1 link pcx" \
	"pcocc-n1 nft" "pcocc-n2 nft" "netns pcocc-" "tracker $A." "etcd /pcocc/cluster/$A/vni" "etcd /pcocc/global/vni/"; do
	grep -q "^$want" <<<"$before" || fail "while A runs, no \"$want...\" (the check would pass for nothing): $before"
done
# B's hypervisor killed mid-run: the cluster ends by itself, cleanly.
pkill -KILL -u tester2 -f "pcocc-$B-vm[0]-" || fail "no QEMU of B's vm0 to kill"
gone "$B" "its QEMU was killed"
grep -q 'vm0: on n2' "$work"/tester2/out-"$B" || fail "B's output does not say vm0 ended: $(cat "$work"/tester2/out-"$B")"
[[ -n $(node_objects "$A") ]] || fail "the end of B removed A's objects too"
as tester scancel "$A"
gone "$A" scancel
jobs=()
echo "slurm_vm_cluster.sh: $((SECONDS - start)) s"
((fails == 0)) && echo "slurm_vm_cluster.sh: PASS"
exit $((fails > 0))
