#!/usr/bin/env bash
# bench/fuse-find.sh: cold `find` over one squashfs, mounted by the kernel
# and by FUSE servers, the mounts taken in turn in each round so that a
# load that comes and goes touches them all alike. Never a timed test: run
# it by hand, as root (the kernel's mount, dropping the page cache).
#
#   bash bench/fuse-find.sh IMAGE [NAME=COMMAND ...]
#
# Each NAME=COMMAND is a server run as `COMMAND IMAGE MOUNTPOINT` (a
# squashfuse_ll-style command line, backgrounded, the mount waited for);
# with none: sqfuse (bin/pcocc __pcocc_sqfuse) and squashfuse_ll. To
# compare two builds of sqfuse, give each its pcocc:
#   bash bench/fuse-find.sh IMG new="bin/pcocc __pcocc_sqfuse" old="/tmp/old/pcocc __pcocc_sqfuse"
# ROUNDS (5) rounds; each line: the mount, its times in ms, the median.
# TASKSET="0 0" runs every server and every find on CPU 0 (one CPU: no
# cross-CPU wake-ups), "0 1" the server on 0 and find on 1. WAKE_HERE="N Y"
# (kernels whose fuse module has the wake_here parameter) runs each server
# under each value, in the same round; the parameter is put back after.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
need_root
(($# >= 1)) || die "usage: bash bench/fuse-find.sh IMAGE [NAME=COMMAND ...]"
img=$(realpath "$1")
shift
servers=("$@")
((${#servers[@]})) || servers=("sqfuse=$PWD/bin/pcocc __pcocc_sqfuse" "squashfuse_ll=squashfuse_ll -f")
ROUNDS=${ROUNDS:-5}
read -r cpu_server cpu_find <<<"${TASKSET:-}"
pin() { if [[ -n ${1:-} ]]; then echo "taskset -c $1"; fi; }
wake=/sys/module/fuse/parameters/wake_here
wakes=(${WAKE_HERE:-})
if ((${#wakes[@]})); then
	[[ -w $wake ]] || die "WAKE_HERE: this kernel's fuse module has no wake_here parameter"
	wake_was=$(<"$wake")
fi
mnt=$(mktemp -d /var/tmp/pcocc-fuse-find-XXXXXX)
cleanup() {
	umount "$mnt" 2>/dev/null || true
	rmdir "$mnt" || true
	if [[ -n ${wake_was:-} ]]; then echo "$wake_was" >"$wake"; fi
}
trap cleanup EXIT

# once NAME COMMAND: mount, drop the page cache, time find, unmount.
once() {
	local name=$1 cmd=$2 pid= dev start end
	dev=$(stat -c %d "$mnt")
	if [[ $name == kernel ]]; then
		mount -t squashfs -o loop,ro "$img" "$mnt"
	else
		# shellcheck disable=SC2086 # the command is words
		$(pin "$cpu_server") $cmd "$img" "$mnt" &
		pid=$!
		for _ in $(seq 500); do [[ $(stat -c %d "$mnt") != "$dev" ]] && break; sleep 0.01; done
	fi
	[[ $(stat -c %d "$mnt") != "$dev" ]] || die "$name: no mount on $mnt"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	start=$(date +%s%N)
	$(pin "$cpu_find") find "$mnt" >/dev/null
	end=$(date +%s%N)
	umount "$mnt"
	[[ -z $pid ]] || wait "$pid" || true
	echo $(((end - start) / 1000000))
}

declare -A times
names=(kernel)
for s in "${servers[@]}"; do
	if ((${#wakes[@]})); then
		for w in "${wakes[@]}"; do names+=("${s%%=*}, wake_here=$w"); done
	else
		names+=("${s%%=*}")
	fi
done
for _ in $(seq "$ROUNDS"); do
	times[kernel]+=" $(once kernel "")"
	for s in "${servers[@]}"; do
		if ((${#wakes[@]} == 0)); then
			times[${s%%=*}]+=" $(once "${s%%=*}" "${s#*=}")"
			continue
		fi
		for w in "${wakes[@]}"; do
			echo "$w" >"$wake"
			times["${s%%=*}, wake_here=$w"]+=" $(once "${s%%=*}" "${s#*=}")"
		done
	done
done
printf '| mount | cold find, ms (%s rounds) | median |\n|---|---|---:|\n' "$ROUNDS"
for n in "${names[@]}"; do
	# shellcheck disable=SC2086 # a list of numbers
	med=$(printf '%s\n' ${times[$n]} | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	printf '| %s |%s | %s |\n' "$n" "${times[$n]}" "$med"
done
