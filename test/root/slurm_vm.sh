#!/usr/bin/env bash
# The plugin's VM path under Slurm: `srun -N2 -n2 --vm=cluster` as tester
# with a trivial task that prints its PCOCC_VM_* and checks that its tap
# belongs to it; then no tracker, env file or etcd key of the job is left.
# Skips, with the reason, until the CI fabric (two slurmd in network
# namespaces) and a plugstack line with the VM path's arguments
# (etcd-password= and conf-dir=, docs/vm-slurm-admin.md) are there.
# As root: slurm_vm.sh PLUGSTACK_CONF. Called by scripts/run-e2e.sh.
set -uo pipefail
conf=$1
skip() { echo "slurm_vm.sh: SKIP: $*"; exit 0; }
[[ $(id -u) == 0 ]] || { echo "slurm_vm.sh: run as root" >&2; exit 2; }
[[ ${PCOCC_CI_FABRIC:-} == 1 ]] || skip "no CI fabric (PCOCC_CI_FABRIC=1 from \$PCOCC_CI_DIR/env.sh)"
grep -q 'etcd-password=/' "$conf" 2>/dev/null && grep -q 'conf-dir=/' "$conf" ||
	skip "$conf has no etcd-password= and conf-dir= (the VM path is not installed)"
cred=$(head -c16 /dev/urandom | od -An -tx1 | tr -d ' \n')
task='echo "$SLURM_PROCID $PCOCC_VM_INDEX $PCOCC_VM_TAP $PCOCC_VM_MAC $PCOCC_VM_ADDR $PCOCC_VM_MTU $PCOCC_VM_NETWORK $(ip -d link show "$PCOCC_VM_TAP" | grep -o " user [^ ]*" | cut -d" " -f3)"'
out=$(cd / && runuser -u tester -- env PCOCC_ETCD_CRED="$cred" SLURM_CONF="$SLURM_CONF" \
	timeout 120 srun -N2 -n2 --vm=cluster sh -c "$task" 2>&1)
rc=$?
echo "$out"
fails=0
[[ $rc == 0 ]] || { echo "slurm_vm.sh: FAIL: srun --vm: rc $rc"; fails=1; }
uid=$(id -u tester)
for i in 0 1; do
	grep -Eq "^$i $i pct[0-9a-z]+v$i 52:54:00:[0-9a-f:]+ [0-9.]+ [0-9]+ cluster ($uid|tester)$" <<<"$out" ||
		{ echo "slurm_vm.sh: FAIL: task $i's PCOCC_VM_* or tap owner"; fails=1; }
done
# a bad network name: one line from the plugin, the step fails
bad=$(cd / && runuser -u tester -- env PCOCC_ETCD_CRED="$cred" timeout 60 srun -n1 --vm='../x' true 2>&1) &&
	{ echo "slurm_vm.sh: FAIL: --vm=../x accepted"; fails=1; }
grep -q 'is not NETWORK\[:PORT,...\]' <<<"$bad" || { echo "slurm_vm.sh: FAIL: --vm=../x: $bad"; fails=1; }
# a port twice: pcocc-vm refuses it in one line before creating anything
# (even with an "optional" plugstack line: the task must not run)
bad=$(cd / && runuser -u tester -- env PCOCC_ETCD_CRED="$cred" timeout 60 srun -n1 --vm='cluster:80,80' echo RAN 2>&1) &&
	{ echo "slurm_vm.sh: FAIL: --vm=cluster:80,80 accepted"; fails=1; }
grep -q 'pcocc: --vm=cluster:80,80: pcocc-vm __vm-setup: --ports: "80" is not a distinct port' <<<"$bad" &&
	! grep -q -e RAN -e 'task-0.env' <<<"$bad" || { echo "slurm_vm.sh: FAIL: --vm=cluster:80,80: $bad"; fails=1; }
# (the plugin's exit callback removes them after srun has returned)
for i in $(seq 100); do
	left=$(ls /run/pcocc/tracker /run/pcocc/vm 2>/dev/null | grep -v ':$' | grep -v '^$' | grep -v setup.lock)
	[[ -z $left ]] && break
	sleep 0.2
done
[[ -z $left ]] || { echo "slurm_vm.sh: FAIL: left on the login namespace's /run/pcocc: $left"; fails=1; }
((fails == 0)) && echo "slurm_vm.sh: PASS"
exit $fails
