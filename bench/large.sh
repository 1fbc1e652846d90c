#!/usr/bin/env bash
# bench/large.sh: a large image (many files, many shared libraries) through
# each way of mounting a squashfs, side by side in one run. Never a timed
# test: run it by hand, as root, after `make build`. Prints a markdown table.
#
# The image is built offline, once, and cached under $BENCH_DIR/large:
# COPIES copies of the host's Python trees (/usr/lib/python3*), each file's
# content made distinct per copy (a comment or trailing bytes appended, so
# that no writer deduplicates them), plus a static busybox as /bin/true,
# compressed as `pcocc image import` does (zstd level 3).
# COPIES=40 gives about 200,000 files and 4 GiB.
#
# Rows (all as root, so that every file is readable):
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
# Environment: COPIES (40), RUNS (1; the best of RUNS is kept), SKIP (rows:
# kernel sqfuse nopreload squashfuse_ll unpack), BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
need_root

BENCH_DIR=${BENCH_DIR:-/var/tmp/pcocc-bench}
COPIES=${COPIES:-40}
RUNS=${RUNS:-1}
SKIP=${SKIP:-}
[[ -x bin/pcocc ]] || die "bin/pcocc is missing: run 'make build' first"
skip() { [[ " $SKIP " == *" $1 "* ]]; }

W=$BENCH_DIR/large
SQFS=$W/large-$COPIES.sqfs
MNT=$W/mnt
install -d -m 0755 "$W" "$MNT"
install -m 0755 bin/pcocc "$W/pcocc"; install -m 0755 bin/pcocc-cli "$W/pcocc-cli"

# ---------------------------------------------------------------- the image
# build_tar: the tar stream of the image, on stdout.
build_tar() {
	python3 - "$COPIES" <<'EOF'
import glob, io, os, sys, tarfile
copies = int(sys.argv[1])
roots = sorted(glob.glob("/usr/lib/python3*"))
files = []
for root in roots:
    for d, dirs, names in os.walk(root):
        dirs.sort()
        for n in sorted(dirs + names):
            files.append(os.path.join(d, n))
out = tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT)
def add(name, data=None, info=None):
    ti = info or tarfile.TarInfo(name)
    ti.name = name
    if data is not None:
        ti.size = len(data)
        out.addfile(ti, io.BytesIO(data))
    else:
        out.addfile(ti)
for d in ("bin", "lib"):
    ti = tarfile.TarInfo(d); ti.type = tarfile.DIRTYPE; ti.mode = 0o755
    add(d, info=ti)
with open("/bin/busybox", "rb") as f:
    ti = tarfile.TarInfo("bin/true"); ti.mode = 0o755
    add("bin/true", f.read(), ti)
for c in range(copies):
    top = "lib/copy%03d" % c
    ti = tarfile.TarInfo(top); ti.type = tarfile.DIRTYPE; ti.mode = 0o755
    add(top, info=ti)
    for p in files:
        name = top + p
        st = os.lstat(p)
        ti = tarfile.TarInfo(name)
        ti.mode, ti.mtime = st.st_mode & 0o7777, int(st.st_mtime)
        if os.path.islink(p):
            ti.type, ti.linkname = tarfile.SYMTYPE, os.readlink(p)
            add(name, info=ti)
        elif os.path.isdir(p):
            ti.type = tarfile.DIRTYPE
            add(name, info=ti)
        elif os.path.isfile(p):
            with open(p, "rb") as f:
                data = f.read()
            tag = b"\n# copy %d\n" % c if p.endswith(".py") else b"\0copy%d" % c
            add(name, data + tag, ti)
out.close()
EOF
}
if [[ ! -f $SQFS ]]; then
	log "building $SQFS ($COPIES copies of /usr/lib/python3*; once)"
	start=$(date +%s)
	build_tar | tar2sqfs -q -f -s -c zstd -X level=3 -j "$(nproc)" "$SQFS.tmp" # as pcocc image import
	mv "$SQFS.tmp" "$SQFS"
	log "built in $(($(date +%s) - start)) s"
fi
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
SAMPLE=$W/sample-$COPIES
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
