#!/usr/bin/env bash
# bench/large.sh: a large image (many files, many shared libraries) through
# each way of mounting a squashfs, then through pcocc's own paths, side by
# side in one run. Never a timed test: run it by hand, as root, after `make
# build`. Prints markdown tables.
#
# The images are built offline, once, and cached under $BENCH_DIR/large by
# bench/large-image.py: the host's python3 with its libraries and its
# /usr/lib/python3* trees, a static busybox as /bin/true, and COPIES more
# copies of those trees (each file made distinct per copy), compressed as
# `pcocc image import` does (zstd level 3). COPIES=40 (extrapolated from
# COPIES=2 and 12): about 210,000 files, 4.4 GiB unpacked, 0.8 GiB of
# squashfs. COPIES=0 is the small image of the same layout that the python3
# start compares against.
#
# 1. Mounts, all as root, so that every file is readable:
#   kernel            mount -t squashfs -o loop,ro
#   sqfuse            pcocc __pcocc_sqfuse SQFS MNT (tables preloaded: the default)
#   sqfuse, no preload  the same with PCOCC_SQFUSE_PRELOAD_MIB=0
#   squashfuse_ll     squashfuse_ll SQFS MNT
#   unpack            unsquashfs -d DIR once (a stand-in for pcocc's node
#                     cache unpacker, which docs/benchmarks.md measures as
#                     slightly faster), then the plain directory
# Columns, milliseconds:
#   find cold   `find . >/dev/null` on a new mount after dropping the page cache
#   find warm   a second pass over the same mount
#   start       a new mount (squashfs file in the page cache) until
#               `chroot MNT /bin/true` has run: what a container start pays
#   read 10%    cat a fixed random 10% of the files on a new mount after
#               dropping the page cache
#   server MiB  the FUSE server's peak resident memory (VmHWM) at the end
# 2. Starts through pcocc (SKIP=pcocc), as $PCOCC_TEST_USER: see
#    bench/large-pcocc.sh. `pcocc run IMG /bin/true` (busybox against the
#    large image) and python3 importing 30 packages (the small image against
#    the large one), as root (the kernel's squashfs, as under Slurm), per
#    PCOCC_SQUASHFS_MOUNT mode and with ch-run, later runs and first runs on
#    a node, with the ratio large/small.
# 3. N simulated nodes (SKIP=nodes): N node caches, N concurrent first runs.
# Environment: COPIES (40), RUNS (1; the best of RUNS is kept; first runs
# through pcocc: FIRST_RUNS, default RUNS), START_RUNS (10 x RUNS: warm
# starts, the median), START_MODES (kernel auto sqfuse squashfuse_ll unpack
# ch-run), N (8), NODE_MODES (unpack sqfuse), SKIP (kernel
# sqfuse nopreload squashfuse_ll unpack pcocc nodes), BENCH_DIR, FIXTURES.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
need_root

BENCH_DIR=${BENCH_DIR:-/var/tmp/pcocc-bench}
COPIES=${COPIES:-40}
RUNS=${RUNS:-1}
SKIP=${SKIP:-}
[[ -x bin/pcocc ]] || die "bin/pcocc is missing: run 'make build' first"
for v in COPIES RUNS N START_RUNS FIRST_RUNS; do
	[[ ${!v:-1} =~ ^[0-9]+$ ]] || die "$v=${!v}: not a number"
done
((RUNS > 0 && ${N:-1} > 0 && ${START_RUNS:-1} > 0 && ${FIRST_RUNS:-1} > 0)) ||
	die "RUNS, N, START_RUNS and FIRST_RUNS must be at least 1"
skip() { [[ " $SKIP " == *" $1 "* ]]; }

W=$BENCH_DIR/large
# The version of bench/large-image.py's layout: a new one builds new images.
IMAGE_VERSION=v2
SQFS=$W/large-$IMAGE_VERSION-$COPIES.sqfs
MNT=$W/mnt
install -d -m 0755 "$W" "$MNT"
install -m 0755 bin/pcocc "$W/pcocc"; install -m 0755 bin/pcocc-cli "$W/pcocc-cli"
. bench/large-pcocc.sh

# ---------------------------------------------------------------- the images
# build SQFS COPIES: bench/large-image.py's image, compressed as `pcocc image
# import` does (zstd level 3).
build() {
	[[ -f $1 ]] && return
	log "building $1 ($2 copies of /usr/lib/python3*; once)"
	local start
	start=$(date +%s)
	python3 bench/large-image.py "$2" | tar2sqfs -q -f -s -c zstd -X level=3 -j "$(nproc)" "$1.tmp"
	mv "$1.tmp" "$1"
	log "built in $(($(date +%s) - start)) s"
}
build "$SQFS" "$COPIES"
SMALL_SQFS=$W/large-$IMAGE_VERSION-0.sqfs
skip pcocc || build "$SMALL_SQFS" 0
SIZE=$(python3 -c 'import os,sys; print(os.path.getsize(sys.argv[1]))' "$SQFS")
log "image: $SQFS, $((SIZE >> 20)) MiB"

# ---------------------------------------------------------------- mounts
SERVER=
mount_kernel() { mount -t squashfs -o loop,ro "$SQFS" "$MNT"; }
mount_squashfuse_ll() {
	squashfuse_ll "$SQFS" "$MNT"
	SERVER=$(pgrep -n -x squashfuse_ll || true)
}
mount_sqfuse() {
	"$W/pcocc" __pcocc_sqfuse "$SQFS" "$MNT" 2>>"$W/sqfuse.log" &
	SERVER=$!
	wait_for 10 "the sqfuse mount" mountpoint -q "$MNT"
}
mount_nopreload() { PCOCC_SQFUSE_PRELOAD_MIB=0 mount_sqfuse; }
mount_unpack() {
	[[ -d $W/unpacked ]] || die "no unpacked tree"
	mount --bind "$W/unpacked" "$MNT"
}
# hwm: the server's peak resident memory in MiB ("-" without a server).
hwm() {
	if [[ -n $SERVER && -r /proc/$SERVER/status ]]; then
		awk '/VmHWM/ {printf "%d", $2 / 1024}' "/proc/$SERVER/status"
	else
		echo -
	fi
}
umount_image() {
	local pid=$SERVER
	umount "$MNT" 2>/dev/null || umount -l "$MNT"
	SERVER=
	# squashfuse_ll is not our child: wait for its exit by its pid.
	if [[ -n $pid ]]; then
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	fi
}
trap 'mountpoint -q "$MNT" && umount_image; true' EXIT

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }
min() { if [[ -z $2 ]] || (($1 < $2)); then echo "$1"; else echo "$2"; fi; }

# The sample of files to read: 10% of the regular files, fixed by a seed.
SAMPLE=$W/sample-$IMAGE_VERSION-$COPIES
if [[ ! -f $SAMPLE ]]; then
	mount_kernel
	(cd "$MNT" && find . -type f | sort | shuf --random-source=<(yes) -n "$(($(find . -type f | wc -l) / 10))") >"$SAMPLE.tmp"
	umount_image
	mv "$SAMPLE.tmp" "$SAMPLE"
fi
log "$(wc -l <"$SAMPLE") files in the 10% sample"

# row NAME: find cold, find warm, start, read 10%, server memory.
row() {
	local name=$1 fc="" fw="" st="" rd="" mem=- t i
	for ((i = 0; i < RUNS; i++)); do
		drop
		t=$(date +%s%N)
		"mount_$name"
		(cd "$MNT" && find . >/dev/null)
		fc=$(min "$(ms "$t")" "$fc")
		t=$(date +%s%N)
		(cd "$MNT" && find . >/dev/null)
		fw=$(min "$(ms "$t")" "$fw")
		umount_image
		cat "$SQFS" >/dev/null # in the page cache, as for a node's later jobs
		t=$(date +%s%N)
		"mount_$name"
		chroot "$MNT" /bin/true
		st=$(min "$(ms "$t")" "$st")
		umount_image
		drop
		"mount_$name"
		t=$(date +%s%N)
		(cd "$MNT" && xargs -d '\n' cat <"$SAMPLE" >/dev/null)
		rd=$(min "$(ms "$t")" "$rd")
		mem=$(hwm)
		umount_image
	done
	echo "$fc | $fw | $st | $rd | $mem"
}

echo "COPIES=$COPIES: $(wc -l <"$SAMPLE") files read of about $(($(wc -l <"$SAMPLE") * 10)), $((SIZE >> 20)) MiB of squashfs"
echo
echo "| mount | find cold | find warm | start | read 10% | server MiB |"
echo "|---|---:|---:|---:|---:|---:|"
skip kernel || echo "| kernel squashfs | $(row kernel) |"
skip sqfuse || echo "| sqfuse (tables preloaded) | $(row sqfuse) |"
skip nopreload || echo "| sqfuse, no preload | $(row nopreload) |"
skip squashfuse_ll || echo "| squashfuse_ll | $(row squashfuse_ll) |"
if ! skip unpack; then
	rm -rf "$W/unpacked"
	drop
	t=$(date +%s%N)
	unsquashfs -q -n -d "$W/unpacked" "$SQFS" >/dev/null
	first=$(ms "$t")
	echo "| unpack (first unpack: $first ms) | $(row unpack) |"
	rm -rf "$W/unpacked"
fi
if ! skip pcocc || ! skip nodes; then pcocc_setup; fi
skip pcocc || start_table
skip nodes || nodes_table
