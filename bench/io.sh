#!/usr/bin/env bash
# bench/io.sh: file system speed of the image mount over the large Debian
# image (bench/import.sh's): walking every directory (`find . -xdev`) and
# reading every file (`tar cf - . | cat >/dev/null`: `tar cf /dev/null` reads
# no data), through each way of mounting a squashfs, against the kernel's
# squashfs. Run as root. Prints a markdown table.
#
# Rows:
#   kernel squashfs      mount -t squashfs -o loop,ro (root)
#   squashfuse_ll        squashfuse_ll SQFS MNT (root, so that every file is readable)
#   sqfuse               pcocc __pcocc_sqfuse SQFS MNT (root), pcocc's own FUSE server
#   pcocc run (M)        as $PCOCC_TEST_USER: PCOCC_SQUASHFS_MOUNT=M pcocc run IMG -- bash -c PASS,
#                        through the container's overlay, for each M in $MOUNTS
# Columns, for each operation:
#   cold     a new mount after `echo 3 >/proc/sys/vm/drop_caches`: from the disk
#   warm     a second pass over the same mount
#   remount  a new mount, the squashfs file in the page cache (a new job on a
#            node that ran the image before: every `pcocc run` is a new mount)
# Environment: RUNS (default 1; the best of RUNS is kept), MOUNTS (default
# "unpack sqfuse squashfuse_ll"; unpack: the image unpacked in the node cache,
# its "cold" a dropped page cache over the unpacked tree on the local disk), SKIP (rows: kernel squashfuse_ll sqfuse pcocc), BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
need_root

BENCH_DIR=${BENCH_DIR:-/var/tmp/pcocc-bench}
RUNS=${RUNS:-1}
MOUNTS=${MOUNTS:-unpack sqfuse squashfuse_ll}
SKIP=${SKIP:-}
U=$PCOCC_TEST_USER
[[ -x bin/pcocc ]] || die "bin/pcocc is missing: run 'make build' first"
skip() { [[ " $SKIP " == *" $1 "* ]]; }

# ---------------------------------------------------------------- set-up
W=$BENCH_DIR/io
THOME=$W/home
REPO=$THOME/.local/share/pcocc/images
as_user() {
	runuser -u "$U" -- env -i HOME="$THOME" USER="$U" PATH="$W/bin:/usr/bin:/bin:/usr/sbin:/sbin" "$@"
}
install -d -m 0755 "$W" "$W/bin" "$W/mnt"
install -d -o "$U" -m 0755 "$THOME"
install -m 0755 bin/pcocc bin/pcocc-cli bin/pcocc-init "$W/bin/"
if [[ ! -f $REPO/images/debian/rootfs.sqfs ]]; then
	A=$(ls -t "$BENCH_DIR"/image-*/bench.tar 2>/dev/null | head -1 || true)
	if [[ -z $A ]]; then
		log "building the large image with bench/import.sh (once)"
		SKIP='floor pcocc umoci charliecloud' bash bench/import.sh >/dev/null
		A=$(ls -t "$BENCH_DIR"/image-*/bench.tar | head -1)
	fi
	log "importing $A"
	(cd "$THOME" && as_user pcocc image import -q "docker-archive:$A" debian)
fi
SQFS=$(readlink -f "$REPO/images/debian/rootfs.sqfs")
MNT=$W/mnt/image

# PASS OP DIR N: N timed passes of OP (find or tar) over DIR; prints the
# milliseconds of each. The same text runs on the host and in the container
# (bash ≥ 5 for EPOCHREALTIME; the Debian image has it).
# shellcheck disable=SC2016
PASS='op=$1; cd "$2"; for ((i = 0; i < $3; i++)); do
	s=${EPOCHREALTIME/./}
	case $op in
	find) find . -xdev >/dev/null ;;
	tar) tar --one-file-system -cf - . 2>/dev/null | cat >/dev/null ;;
	esac
	e=${EPOCHREALTIME/./}; printf "%d " $(((e - s) / 1000))
done'
pass() { bash -c "$PASS" pass "$@"; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# mount_NAME / umount_image: the raw mounts, as root.
SERVER=
mount_kernel() { mount -t squashfs -o loop,ro "$SQFS" "$MNT"; }
mount_squashfuse_ll() { squashfuse_ll "$SQFS" "$MNT"; }
mount_sqfuse() {
	"$W/bin/pcocc" __pcocc_sqfuse "$SQFS" "$MNT" 2>>"$W/sqfuse.log" &
	SERVER=$!
	wait_for 10 "the sqfuse mount" mountpoint -q "$MNT"
}
umount_image() {
	umount "$MNT" 2>/dev/null || umount -l "$MNT"
	if [[ -n $SERVER ]]; then wait "$SERVER" 2>/dev/null || true; SERVER=; fi
}
trap 'mountpoint -q "$MNT" && umount_image; true' EXIT
install -d "$MNT"

# min A B: the smaller, A when B is empty.
min() { if [[ -z $2 ]] || (($1 < $2)); then echo "$1"; else echo "$2"; fi; }

# raw NAME OP: cold + warm on one mount, then remount on a second one.
raw() {
	local name=$1 op=$2 cold="" warm="" re="" i a b c
	for ((i = 0; i < RUNS; i++)); do
		drop
		"mount_$name"
		read -r a b < <(pass "$op" "$MNT" 2)
		umount_image
		"mount_$name"
		read -r c < <(pass "$op" "$MNT" 1)
		umount_image
		cold=$(min "$a" "$cold") warm=$(min "$b" "$warm") re=$(min "$c" "$re")
	done
	echo "$cold $warm $re"
}

# inrun MOUNT OP: the same through `pcocc run`, as the user.
inrun() {
	local m=$1 op=$2 cold="" warm="" re="" i a b c
	for ((i = 0; i < RUNS; i++)); do
		drop
		read -r a b < <(cd "$THOME" && as_user env PCOCC_SQUASHFS_MOUNT="$m" pcocc run --cwd / debian -- bash -c "$PASS" pass "$op" / 2)
		read -r c < <(cd "$THOME" && as_user env PCOCC_SQUASHFS_MOUNT="$m" pcocc run --cwd / debian -- bash -c "$PASS" pass "$op" / 1)
		cold=$(min "$a" "$cold") warm=$(min "$b" "$warm") re=$(min "$c" "$re")
	done
	echo "$cold $warm $re"
}

# ---------------------------------------------------------------- measuring
ROWS=()
row() { # LABEL FUNCTION ARGS...: one table row, find then tar
	local label=$1 f t; shift
	f=$("$@" find) || f="failed"
	t=$("$@" tar) || t="failed"
	read -r -a f <<<"$f"; read -r -a t <<<"$t"
	ROWS+=("| $label | ${f[0]} | ${f[1]:-} | ${f[2]:-} | ${t[0]} | ${t[1]:-} | ${t[2]:-} |")
	log "$label: find ${f[*]} ms, tar ${t[*]} ms"
}
skip kernel || row "kernel squashfs (root)" raw kernel
skip squashfuse_ll || row "squashfuse_ll (root)" raw squashfuse_ll
skip sqfuse || row "sqfuse: pcocc __pcocc_sqfuse (root)" raw sqfuse
if ! skip pcocc; then
	for m in $MOUNTS; do row "pcocc run, $m (as $U, through the overlay)" inrun "$m"; done
fi

mount_kernel
FILES=$(cd "$MNT" && find . -xdev -type f | wc -l) ENTRIES=$(cd "$MNT" && find . -xdev | wc -l)
MB=$(($(cd "$MNT" && tar --one-file-system -cf - . | wc -c) >> 20))
umount_image
echo
echo "Image: $(basename "$(dirname "$SQFS")")/rootfs.sqfs, $(($(stat -c %s "$SQFS") >> 20)) MiB squashfs" \
	"($(unsquashfs -s "$SQFS" | sed -n 's/^Compression //p')), $ENTRIES entries ($FILES files), a $MB MiB tar stream." \
	"Host: $(nproc) CPUs, $(uname -r), $(date -u +%Y-%m-%d). Milliseconds, best of $RUNS."
echo
echo "| mount | find cold | find warm | find remount | tar cold | tar warm | tar remount |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
