#!/usr/bin/env bash
# srun --ctr overhead: `srun -n N --ctr=IMG true` against `srun -n N true`
# for N = 1, 2, 8 on one node; median of REPS runs each (a benchmark, never
# a test: the machine may be shared). Then, for one task, each image mount
# (PCOCC_SQUASHFS_MOUNT: auto, which is the plugin's kernel squashfs where
# the plugstack allows it, unpack, sqfuse): `true`, and `find /` over the
# image. MOUNTS_ONLY=1: only that second table. Run as the unprivileged user, with
# SLURM_CONF set and the SPANK plugin installed (scripts/services.sh start).
#   bash bench/slurm.sh [IMAGE]   (default: imports the busybox fixture as
#                                  "bench-bb" from $FIXTURES)
set -euo pipefail
REPS=${REPS:-11}
img=${1:-}
if [[ -z $img ]]; then
	fixtures=${FIXTURES:-${PCOCC_FIXTURES:-/var/tmp/pcocc-ci/fixtures}}
	img=bench-bb
	pcocc image show "$img" >/dev/null 2>&1 ||
		pcocc image import -q "docker-archive:$fixtures/busybox.docker.tar" "$img"
fi
cd /tmp # srun propagates the cwd

# median_ms CMD...: the median wall time of REPS runs, in milliseconds.
median_ms() {
	local i t0 ts=()
	"$@" >/dev/null # warm caches
	for ((i = 0; i < REPS; i++)); do
		t0=$(date +%s%N)
		"$@" >/dev/null
		ts+=($((($(date +%s%N) - t0) / 1000000)))
	done
	printf '%s\n' "${ts[@]}" | sort -n | sed -n "$((REPS / 2 + 1))p"
}

by_mount() {
	printf '\nOne task, by image mount (%s):\n' "$img"
	printf '%-8s %12s %16s\n' mount 'true (ms)' 'find / (ms)'
	for mode in auto unpack sqfuse; do
		printf '%-8s %12d %16d\n' "$mode" \
			"$(median_ms env PCOCC_SQUASHFS_MOUNT="$mode" srun -N 1 -n 1 --ctr="$img" true)" \
			"$(median_ms env PCOCC_SQUASHFS_MOUNT="$mode" srun -N 1 -n 1 --ctr="$img" find / -xdev)"
	done
}
if [[ ${MOUNTS_ONLY:-} == 1 ]]; then
	by_mount
	exit 0
fi

printf '%-4s %12s %12s %14s %8s\n' N 'srun (ms)' '--ctr (ms)' 'overhead (ms)' ratio
declare -A ctr
for n in 1 2 8; do
	plain=$(median_ms srun -N 1 -n "$n" true)
	ctr[$n]=$(median_ms srun -N 1 -n "$n" --ctr="$img" true)
	printf '%-4s %12d %12d %14d %8s\n' "$n" "$plain" "${ctr[$n]}" "$((ctr[$n] - plain))" "$(awk -v a="${ctr[$n]}" -v b="$plain" 'BEGIN{printf "%.2f", a/b}')"
done
printf 'tasks per node: --ctr at N=8 / N=1 = %s\n' "$(awk -v a="${ctr[8]}" -v b="${ctr[1]}" 'BEGIN{printf "%.2f", a/b}')"
by_mount
