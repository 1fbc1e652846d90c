#!/usr/bin/env bash
# bench/run.sh: start time of a warm `pcocc run IMG true`, squashfs mount
# included, against the floor and the other rootless container tools, side by
# side in one run, with hyperfine. Run as root (`make bench` style); every
# measured command runs as the unprivileged user $PCOCC_TEST_USER (/dev/fuse
# must be mode 0666). Prints one markdown table per image.
#
# Images: busybox (the test fixture busybox.docker.tar) and the large Debian
# image that bench/import.sh builds in $BENCH_DIR (built here if missing),
# imported into a private repository under $BENCH_DIR/run.
#
# Rows (IMG is the image, SQFS its squashfs file, DIR an unpacked copy):
#   /bin/true        the machine's process start
#   empty Go         an empty static Go program: a Go runtime's start here
#   pcocc --version  the launcher's start, handing --version to pcocc-cli
#   pcocc-cli --version  the full program's start
#   pcocc (M)        pcocc run IMG true, for each M in $MOUNTS (env PCOCC_SQUASHFS_MOUNT=M but for auto)
#                    (auto, the default, runs these images unpacked in the node cache)
#   pcocc first run  the same with an empty node cache: auto unpacks the image first
#   floor            bash -c "squashfuse_ll SQFS MNT && unshare -Urm chroot MNT /bin/true; fusermount3 -u MNT"
#   ch-run           ch-run SQFS -- /bin/true (Charliecloud mounts the squashfs itself)
#   bwrap dir        bwrap --ro-bind DIR / --proc /proc --dev /dev /bin/true (no mount at all)
#   bwrap+mount      bash -c "squashfuse_ll + bwrap --ro-bind MNT / ... + fusermount3 -u", like the floor
#   podman           podman run --rm IMG /bin/true (rootless, vfs storage, runc)
# Environment: RUNS (default 30), WARMUP (default 3), IMAGES (default "busybox debian"),
# MOUNTS (default "auto sqfuse squashfuse_ll"), BENCH_DIR, SKIP (rows to skip:
# base pcocc floor ch-run bwrap podman; ch-run, bwrap and podman are skipped
# when not installed). Below the tables: pcocc's package initialisation
# (GODEBUG=inittrace=1, the least of 20 starts).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
need_root

BENCH_DIR=${BENCH_DIR:-/var/tmp/pcocc-bench}
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
IMAGES=${IMAGES:-busybox debian}
MOUNTS=${MOUNTS:-auto sqfuse squashfuse_ll}
SKIP=${SKIP:-}
U=$PCOCC_TEST_USER
FIXTURES=${FIXTURES:-$PCOCC_CI_DIR/fixtures}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PCOCC_CI_DIR/containers.conf}
[[ -x bin/pcocc ]] || die "bin/pcocc is missing: run 'make build' first"
for p in hyperfine squashfuse_ll fusermount3 unsquashfs; do
	command -v "$p" >/dev/null || die "$p is missing"
done
for p in bwrap ch-run podman; do
	command -v "$p" >/dev/null || { log "$p is not installed: no $p row"; SKIP+=" $p"; }
done
[[ $(stat -c %a /dev/fuse) == 666 ]] || die "/dev/fuse must be mode 0666 (chmod 0666 /dev/fuse)"
skip() { [[ " $SKIP " == *" $1 "* ]]; }

# The archives: the busybox fixture, and bench/import.sh's Debian image.
declare -A ARCHIVE
ARCHIVE[busybox]=$FIXTURES/busybox.docker.tar
[[ -f ${ARCHIVE[busybox]} ]] || die "${ARCHIVE[busybox]} is missing: run 'make fixtures'"
debian_archive() {
	local a
	a=$(ls -t "$BENCH_DIR"/image-*/bench.tar 2>/dev/null | head -1 || true)
	if [[ -z $a ]]; then
		log "building the large image with bench/import.sh (once)"
		SKIP='floor pcocc umoci charliecloud' bash bench/import.sh >/dev/null
		a=$(ls -t "$BENCH_DIR"/image-*/bench.tar | head -1)
	fi
	echo "$a"
}
ARCHIVE[debian]=$(debian_archive)

# ---------------------------------------------------------------- set-up
W=$BENCH_DIR/run
THOME=$W/home
as_user() {
	runuser -u "$U" -- env -i HOME="$THOME" USER="$U" PATH="$W/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
		XDG_RUNTIME_DIR="$W/xdg" CONTAINERS_CONF="$CONTAINERS_CONF" "$@"
}
install -d -m 0755 "$W" "$W/bin"
install -d -o "$U" -m 0755 "$THOME" "$W/mnt" "$W/tree"
install -d -o "$U" -m 0700 "$W/xdg"
install -m 0755 bin/pcocc bin/pcocc-cli bin/pcocc-init "$W/bin/"
# The empty Go program, built as pcocc is (static, trimmed).
empty_go() {
	local d
	d=$(mktemp -d)
	printf 'module empty\n\ngo 1.21\n' >"$d/go.mod"
	printf 'package main\n\nfunc main() {}\n' >"$d/main.go"
	(cd "$d" && PATH=/usr/local/go/bin:$PATH CGO_ENABLED=0 go build -trimpath -o "$W/bin/empty-go" .) || die "building the empty Go program failed"
	rm -rf "$d"
}
skip base || empty_go
REPO=$THOME/.local/share/pcocc/images

cleanup() {
	local m pause=$W/xdg/libpod/tmp/pause.pid
	for m in "$W"/mnt/*; do
		mountpoint -q "$m" && { as_user fusermount3 -u "$m" || umount -l "$m"; }
	done
	rm -rf "${W:?}"/mnt/* "${W:?}"/tree/*
	if [[ -d $THOME/.local/share/containers ]]; then
		as_user podman unshare rm -rf "$THOME/.local/share/containers" 2>/dev/null || true
	fi
	if [[ -s $pause ]]; then kill -KILL "$(<"$pause")" 2>/dev/null || true; rm -f "$pause"; fi
}
trap cleanup EXIT
cleanup

declare -A SQFS PODMAN_REF
for img in $IMAGES; do
	[[ -n ${ARCHIVE[$img]:-} ]] || die "unknown image $img (known: ${!ARCHIVE[*]})"
	if [[ ! -f $REPO/images/$img/rootfs.sqfs ]]; then
		log "importing $img"
		(cd "$W" && as_user pcocc image import -q "docker-archive:${ARCHIVE[$img]}" "$img")
	fi
	SQFS[$img]=$(readlink -f "$REPO/images/$img/rootfs.sqfs")
	# As the user: devices cannot be created, which bwrap does not need.
	as_user unsquashfs -q -n -no-xattrs -d "$W/tree/$img" "${SQFS[$img]}" >/dev/null 2>&1 || true
	[[ -d $W/tree/$img/etc ]] || die "unsquashfs of $img failed"
	install -d -o "$U" "$W/mnt/$img-floor" "$W/mnt/$img-bwrap"
	if ! skip podman; then
		log "podman load $img"
		PODMAN_REF[$img]=$(as_user podman load -q -i "${ARCHIVE[$img]}" | sed -n 's/^Loaded image: //p' | head -1)
	fi
done

min() { if (($1 < $2)); then echo "$1"; else echo "$2"; fi; }

# ---------------------------------------------------------------- measuring
log "as $U: $RUNS runs after $WARMUP warm-up runs per row"
TABLES=()
for img in $IMAGES; do
	S=${SQFS[$img]} D=$W/tree/$img M1=$W/mnt/$img-floor M2=$W/mnt/$img-bwrap
	BW="--proc /proc --dev /dev /bin/true"
	args=()
	# No shell between hyperfine and the command (-N): a shell's start,
	# subtracted from rows that take about as long, leaves means of 0 ms
	# that hyperfine cannot compare. Rows that need shell syntax say so.
	if ! skip base; then
		args+=(-n "/bin/true" "/bin/true")
		args+=(-n "empty static Go program" "empty-go")
		args+=(-n "pcocc --version (the launcher hands it to pcocc-cli)" "pcocc --version")
		args+=(-n "pcocc-cli --version (the full program alone)" "pcocc-cli --version")
	fi
	if ! skip pcocc; then
		for m in $MOUNTS; do
			if [[ $m == auto ]]; then args+=(-n "pcocc run (auto)" "pcocc run $img true")
			else args+=(-n "pcocc run ($m) (through env)" "env PCOCC_SQUASHFS_MOUNT=$m pcocc run $img true"); fi
		done
	fi
	skip floor || args+=(-n "floor: squashfuse_ll + unshare -Urm chroot (through bash -c)" \
		"bash -c '$(printf 'squashfuse_ll %q %q && unshare -Urm chroot %q /bin/true; fusermount3 -u %q' "$S" "$M1" "$M1" "$M1")'")
	skip ch-run || args+=(-n "ch-run IMG.sqfs" "ch-run $S -- /bin/true")
	if ! skip bwrap; then
		args+=(-n "bwrap (unpacked dir)" "bwrap --ro-bind $D / $BW")
		args+=(-n "bwrap + squashfuse_ll mount (through bash -c)" \
			"bash -c '$(printf 'squashfuse_ll %q %q && bwrap --ro-bind %q / %s; fusermount3 -u %q' "$S" "$M2" "$M2" "$BW" "$M2")'")
	fi
	skip podman || args+=(-n "podman run (rootless)" "podman run --rm ${PODMAN_REF[$img]} /bin/true")
	out=$W/tree/$img.md
	(cd "$W" && as_user hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
		--export-markdown "$out" "${args[@]}" >&2)
	if ! skip pcocc; then # the first run on a node: unpacking included
		# A new cache each run: deleting the previous one in between would
		# measure the file system's handling of deletions as well.
		first=$W/tree/$img-first.md
		as_user mkdir -p "$W/xdg/first"
		(cd "$W" && as_user hyperfine -S bash --style basic --runs "$(min 10 "$RUNS")" \
			--export-markdown "$first" -n "pcocc run (auto), first run on the node: unpacks" \
			"PCOCC_UNPACK_DIR=\$(mktemp -d -p $W/xdg/first) pcocc run $img true" >&2)
		as_user chmod -R u+w "$W/xdg/first"; rm -rf "$W/xdg/first"
		# Its own hyperfine run: its "Relative" column means nothing here.
		tail -n +3 "$first" | sed 's/| [^|]* |$/| – |/' >>"$out"
	fi
	TABLES+=("### $img ($(($(stat -c %s "$S") >> 20)) MiB squashfs, $(unsquashfs -s "$S" | sed -n 's/^Number of inodes //p') inodes)")
	TABLES+=("" "$(<"$out")" "")
done

echo
echo "Host: $(nproc) CPUs, $(uname -r), $(date -u +%Y-%m-%d). hyperfine, $RUNS runs after $WARMUP warm-up runs," \
	"page cache warm, as user $U, no shell (hyperfine -N) but where a row says. pcocc $(as_user pcocc --version 2>/dev/null | head -1)."
echo
printf '%s\n' "${TABLES[@]}"
# Package initialisation, as each start pays it: the least of 20 starts, per
# package (a loaded machine inflates single readings), of the launcher as
# `pcocc run` pays it (warm: nothing but the launcher starts), of the full
# program, and of the empty Go program for scale.
inittrace() {
	for _ in $(seq 20); do (cd "$W" && as_user env GODEBUG=inittrace=1 "$@" 2>&1 >/dev/null); done |
		awk '$1 == "init" { if (!($2 in m) || $5 < m[$2]) m[$2] = $5 } END { for (p in m) { s += m[p]; n++ }; printf "%.2f ms in %d packages", s, n }'
}
img1=${IMAGES%% *}
echo "Package initialisation (GODEBUG=inittrace=1, least of 20 starts per package):" \
	"pcocc run $img1 true (the launcher) $(inittrace pcocc run "$img1" true);" \
	"pcocc-cli --version (the full program) $(inittrace pcocc-cli --version);" \
	"empty static Go program $(inittrace empty-go)."
