#!/usr/bin/env bash
# bench/vm.sh: the cost of pcocc's VM runtime, as the calling user (TCG is
# forced: the numbers compare pcocc with bare QEMU on the same accelerator).
# Prints a markdown table.
#
# Rows:
#   overlay 64 MiB / 200 GiB   qemu-img create of the overlay a VM boots from,
#                              over a small and a huge image (O(1): equal)
#   bare qemu, 1 VM            QEMU started by hand, to the guest's marker
#   pcocc alloc, 1 VM          pcocc alloc -E (wait for the marker), same guest:
#                              ready (the script saw the marker) and total
#                              (the command returned: teardown included)
#   pcocc alloc, 2 VMs         two VMs, both to the marker
#   pcocc alloc -E true        pcocc's own cost, no guest boot: start (job,
#                              seeds, network, overlays, QEMU serving QMP) to
#                              the script, and the whole command
#   Debian, ssh-ready          with $PCOCC_VM_IMAGES/debian (skipped without
#                              it): pcocc alloc to `pcocc ssh vm0 true`, and a
#                              bare QEMU with the same kernel, disk and
#                              cloud-init seed (pcocc's, copied) to `ssh true`
#                              through a user-mode port forward
#   guest-to-guest             64 MiB from vm0 to vm1 (busybox nc, tiny guests)
#                              on the cluster network, and on a bare bridge
#                              with two taps (a user+net namespace, static
#                              addresses)
# The guest: $PCOCC_VM_IMAGES/tiny (vmlinuz, initrd.gz, disk.qcow2, whose
# console prints PCOCC-TINY-GUEST-BOOTED; scripts/vm-images.sh builds it). Environment:
# RUNS (default 3; the median is kept), DEB_RUNS (default 1), PCOCC_BIN_DIR
# (default bin), ROWS (default "true tiny ssh net": which groups to run).
set -euo pipefail
cd "$(dirname "$0")/.."
G=${PCOCC_VM_IMAGES:?set PCOCC_VM_IMAGES (scripts/vm-images.sh builds the tiny guest there)}/tiny
BIN=$(cd "${PCOCC_BIN_DIR:-bin}" && pwd)
RUNS=${RUNS:-3}
W=$(mktemp -d /tmp/pcocc-vmbench-XXXXXX)
trap 'rm -rf "$W"' EXIT
export XDG_RUNTIME_DIR=$W/rt PCOCC_CONFIG_PATH=$W/conf PCOCC_VM_ACCEL=tcg
mkdir -m 0700 "$XDG_RUNTIME_DIR" && mkdir "$PCOCC_CONFIG_PATH"
export HOME=$W/home XDG_DATA_HOME=$W/data
. bench/tiny.sh
PATH=$BIN:$PATH tiny_setup "$G"

ROWS=${ROWS:-true tiny ssh net}
now() { date +%s.%N; }
# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# time_of CMD...: seconds taken by CMD
time_of() { local t0; t0=$(now); "$@" >/dev/null 2>&1; echo "$(now) - $t0" | bc -l; }
row() { printf '| %s | %.3f s |\n' "$1" "$(median "${@:2}")"; }

overlay() { qemu-img create -q -f qcow2 -b "$1" -F qcow2 "$W/ov.qcow2"; rm -f "$W/ov.qcow2"; }
qemu-img create -q -f qcow2 "$W/small.qcow2" 64M
qemu-img create -q -f qcow2 "$W/huge.qcow2" 200G

bare() {
	local log=$W/bare.log
	rm -f "$log"
	qemu-system-x86_64 -accel tcg,tb-size=64 -machine q35 -cpu max -m 256 -nodefaults -display none \
		-serial "file:$log" -kernel "$G/vmlinuz" -initrd "$G/initrd.gz" -append "console=ttyS0 quiet panic=-1" \
		-drive "file=$W/ov.qcow2,if=virtio,format=qcow2" &
	local pid=$!
	until grep -q PCOCC-TINY-GUEST-BOOTED "$log" 2>/dev/null; do sleep 0.05; done
	kill "$pid"; wait "$pid" 2>/dev/null || true
}
bare_run() { qemu-img create -q -f qcow2 -b "$G/disk.qcow2" -F qcow2 "$W/ov.qcow2"; bare; rm -f "$W/ov.qcow2"; }
wait_vms() {
	local s='for v in'
	for ((i = 0; i < $1; i++)); do s+=" vm$i"; done
	s+='; do until pcocc console -l $v | grep -q PCOCC-TINY-GUEST-BOOTED; do sleep 0.05; done; done'
	PATH=$BIN:$PATH pcocc alloc -m 256 -E "$s; date +%s.%N >$W/ready" "tiny:$1"
}
# ready_of N: seconds from the start of alloc to its script seeing N markers;
# the total (alloc returned) goes to $W/total.
ready_of() {
	local t0 t1; t0=$(now)
	wait_vms "$1" >/dev/null 2>&1
	t1=$(now)
	echo "$t1 - $t0" | bc -l >"$W/total"
	echo "$(cat "$W/ready") - $t0" | bc -l
}

# true_of: seconds from the start of `alloc -E true` to its script; the
# total goes to $W/total.
true_of() {
	local t0 t1; t0=$(now)
	PATH=$BIN:$PATH pcocc alloc -m 256 -E "date +%s.%N >$W/ready" tiny >/dev/null 2>&1
	t1=$(now)
	echo "$t1 - $t0" | bc -l >"$W/total"
	echo "$(cat "$W/ready") - $t0" | bc -l
}

declare -a small huge b a1 a1t a2 a2t e et
if [[ " $ROWS " == *" true "* ]]; then
	for ((r = 0; r < RUNS; r++)); do
		e+=("$(true_of)") && et+=("$(cat "$W/total")")
	done
fi
if [[ " $ROWS " == *" tiny "* ]]; then
	for ((r = 0; r < RUNS; r++)); do
		small+=("$(time_of overlay "$W/small.qcow2")")
		huge+=("$(time_of overlay "$W/huge.qcow2")")
		b+=("$(time_of bare_run)")
		a1+=("$(ready_of 1)") && a1t+=("$(cat "$W/total")")
		a2+=("$(ready_of 2)") && a2t+=("$(cat "$W/total")")
	done
fi
echo "| what (median of $RUNS, $(nproc) cores, TCG) | time |"
echo "|---|---|"
if [[ " $ROWS " == *" tiny "* ]]; then
	row "overlay over a 64 MiB image" "${small[@]}"
	row "overlay over a 200 GiB image" "${huge[@]}"
	row "bare qemu, 1 VM to its marker" "${b[@]}"
	row "pcocc alloc, 1 VM to its marker (ready)" "${a1[@]}"
	row "pcocc alloc, 1 VM to its marker (command returned)" "${a1t[@]}"
	row "pcocc alloc, 2 VMs to their markers (ready)" "${a2[@]}"
	row "pcocc alloc, 2 VMs to their markers (command returned)" "${a2t[@]}"
fi
if [[ " $ROWS " == *" true "* ]]; then
	row "pcocc alloc -E true, to the script" "${e[@]}"
	row "pcocc alloc -E true, command returned" "${et[@]}"
fi
[[ " $ROWS " == *" ssh "* ]] && . bench/vm-ssh.sh
[[ " $ROWS " == *" net "* ]] && . bench/vm-net.sh
true
