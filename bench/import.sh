#!/usr/bin/env bash
# bench/import.sh: import speed and peak memory of `pcocc image import` against
# what other HPC tools do, side by side, on one large realistic image.
# Run as root (`make bench`); the measured commands run as the unprivileged
# user $PCOCC_TEST_USER, as users would. Prints a markdown table.
#
# The image (built once, cached in $BENCH_DIR, default /var/tmp/pcocc-bench):
# a debootstrap --variant=minbase bookworm rootfs (layer 1), plus
#   layer 2: a big software tree (/usr/local/go if present, else /usr/share copies) in /opt
#   layer 3: 50 MiB of random data, hard links, whiteouts of docs, an opaque dir
#   layer 4: 5,000 small files in nested directories, a mode-000 file
#   layer 5: configuration changes (files replaced, a symlink)
# made with GNU tar + umoci raw add-layer, saved with skopeo as a docker-archive.
#
# Rows:
#   pcocc          pcocc image import docker-archive:IMG.tar NAME
#   umoci pipeline skopeo copy to OCI + umoci unpack --rootless + mksquashfs (zstd 3)
#   charliecloud   podman load (rootless) + ch-convert -i podman -o squash
#   floor          read the archive + tar2sqfs (zstd 3) on the already flattened tar
# Environment: RUNS (default 1; the best run is kept), JOBS (default: nproc),
# BENCH_DIR, SKIP (space-separated rows to skip: pcocc umoci charliecloud floor).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
need_root

BENCH_DIR=${BENCH_DIR:-/var/tmp/pcocc-bench}
RUNS=${RUNS:-1}
JOBS=${JOBS:-$(nproc)}
SKIP=${SKIP:-}
U=$PCOCC_TEST_USER
[[ -x bin/pcocc ]] || die "bin/pcocc is missing: run 'make build' first"
command -v /usr/bin/time >/dev/null || die "/usr/bin/time is missing: apt-get install time"
install -d -m 0755 "$BENCH_DIR"

# ---------------------------------------------------------------- the image
build_image() {
	local T=$IMG.tmp R=$BENCH_DIR/rootfs-minbase s
	if [[ ! -f $R.done ]]; then
		log "debootstrap --variant=minbase bookworm (once)"
		rm -rf "$R"
		debootstrap --variant=minbase bookworm "$R" http://deb.debian.org/debian >"$BENCH_DIR/debootstrap.log" 2>&1 ||
			die "debootstrap failed: see $BENCH_DIR/debootstrap.log"
		rm -rf "$R"/var/cache/apt/archives/*.deb
		touch "$R.done"
	fi
	log "building the benchmark image"
	rm -rf "$BENCH_DIR"/image-*; mkdir -p "$T"
	tar -C "$R" --numeric-owner --sort=name -cf "$T/l1.tar" .

	s=$T/s2; mkdir -p "$s/opt"
	if [[ -d /usr/local/go ]]; then cp -a /usr/local/go "$s/opt/go"
	else cp -a /usr/share "$s/opt/share"; fi
	tar -C "$s" --numeric-owner --owner=0 --group=0 --sort=name -cf "$T/l2.tar" .

	s=$T/s3; mkdir -p "$s/data" "$s/usr/share/doc" "$s/etc/apt"
	head -c $((50 << 20)) /dev/urandom >"$s/data/random.bin"
	for i in 1 2 3 4; do ln "$s/data/random.bin" "$s/data/random-link$i"; done
	for d in $(ls "$R/usr/share/doc" | head -40); do : >"$s/usr/share/doc/.wh.$d"; done
	mkdir -p "$s/etc/apt/apt.conf.d"; : >"$s/etc/apt/apt.conf.d/.wh..wh..opq"
	echo 'APT::Install-Recommends "false";' >"$s/etc/apt/apt.conf.d/99bench"
	tar -C "$s" --numeric-owner --owner=0 --group=0 --sort=name -cf "$T/l3.tar" .

	s=$T/s4; mkdir -p "$s/srv"
	for i in $(seq 0 49); do
		mkdir -p "$s/srv/d$i/sub"
		for j in $(seq 0 99); do echo "file $i $j" >"$s/srv/d$i/sub/f$j.txt"; done
	done
	echo secret >"$s/srv/secret000"; chmod 000 "$s/srv/secret000"
	tar -C "$s" --numeric-owner --owner=1000 --group=1000 --sort=name -cf "$T/l4.tar" .

	s=$T/s5; mkdir -p "$s/etc"
	echo bench >"$s/etc/hostname"; echo "Benchmark image" >"$s/etc/motd"
	ln -s /data/random.bin "$s/etc/random-link"
	tar -C "$s" --numeric-owner --owner=0 --group=0 --sort=name -cf "$T/l5.tar" .

	umoci init --layout "$T/oci"
	umoci new --image "$T/oci:bench"
	for l in l1 l2 l3 l4 l5; do umoci raw add-layer --image "$T/oci:bench" "$T/$l.tar"; done
	umoci config --image "$T/oci:bench" --config.cmd /bin/bash --config.env PATH=/usr/local/bin:/usr/bin:/bin
	skopeo copy -q "oci:$T/oci:bench" "docker-archive:$T/bench.tar:bench:latest"
	# The flattened tree, for the floor row (unpacked as root: exact owners).
	umoci unpack --image "$T/oci:bench" "$T/bundle" >/dev/null
	tar -C "$T/bundle/rootfs" --numeric-owner -cf "$T/flat.tar" .
	rm -rf "$T"/s? "$T"/l?.tar "$T/bundle" "$T/oci"
	chmod -R a+rX "$T"
	rm -rf "$IMG"; mv "$T" "$IMG"
}
# The cache key: how the image is made (not the rest of this script).
IMG=$BENCH_DIR/image-$(declare -f build_image | sha256sum | cut -c1-12)
[[ -f $IMG/bench.tar && -f $IMG/flat.tar ]] || build_image
ARCHIVE=$IMG/bench.tar
ARCHIVE_MB=$(($(stat -c %s "$ARCHIVE") >> 20))
LAYERS=$(tar -xOf "$ARCHIVE" manifest.json | grep -o '\.tar"' | wc -l)

# ---------------------------------------------------------------- measuring
W=$BENCH_DIR/work; rm -rf "$W"; install -d -m 0755 "$W"; chown "$U:" "$W"
install -d -m 0755 "$W/bin"; install -m 0755 bin/pcocc "$W/bin/pcocc"; install -m 0755 bin/pcocc-cli "$W/bin/pcocc-cli"
THOME=$W/home; install -d -o "$U" -m 0755 "$THOME"
RESULTS=()

# reset: remove what the previous row left in the user's HOME and out/
# (rootless podman's storage holds files of subordinate uids, and its pause
# process ignores SIGTERM).
reset() {
	local pause=$W/xdg/libpod/tmp/pause.pid
	if [[ -d $THOME/.local/share/containers ]]; then
		runuser -u "$U" -- env -i HOME="$THOME" XDG_RUNTIME_DIR="$W/xdg" CONTAINERS_CONF="$CONTAINERS_CONF" \
			PATH=/usr/bin:/bin podman unshare rm -rf "$THOME/.local/share/containers" 2>/dev/null || true
	fi
	if [[ -s $pause ]]; then kill -KILL "$(<"$pause")" 2>/dev/null || true; rm -f "$pause"; fi
	rm -rf "$W/out" "$THOME/.local" "$THOME/.config" "$THOME/.cache"
	install -d -o "$U" -m 0755 "$W/out"
}

# measure NAME COMMAND-STRING: runs it as $U RUNS times (page cache warm),
# keeps the fastest run, and records wall time, peak RSS (of the largest
# process of the row), the squashfs made and the disk used in all.
measure() {
	local name=$1 cmd=$2 best="" rss="" i out wall kb sq used
	for ((i = 0; i < RUNS; i++)); do
		reset
		cat "$ARCHIVE" >/dev/null
		out=$(cd "$W" && runuser -u "$U" -- env -i HOME="$THOME" PATH="$W/bin:/usr/bin:/bin:/usr/sbin:/sbin" \
			XDG_RUNTIME_DIR="$W/xdg" CONTAINERS_CONF="$CONTAINERS_CONF" \
			/usr/bin/time -f 'TIME %e %M' bash -c "$cmd" 2>&1 >"$W/$name.log") || {
			log "$name failed: $(tail -3 <<<"$out")"
			RESULTS+=("| $name | failed | | | | \`$cmd\` |")
			reset
			return 0
		}
		read -r wall kb < <(grep '^TIME ' <<<"$out" | tail -1 | cut -d' ' -f2-)
		if [[ -z $best ]] || awk "BEGIN{exit !($wall < $best)}"; then best=$wall; rss=$kb; fi
	done
	sq=0   # the largest file that starts with the squashfs magic, whatever its name
	while read -r size f; do
		cmp -s -n4 <(printf hsqs) "$f" && ((size > sq)) && sq=$size
	done < <(find "$W/out" "$THOME/.local" -type f -size +64k -printf '%s %p\n' 2>/dev/null || true)
	[[ $sq == 0 ]] && sq=
	used=$({ du -sm --apparent-size "$W/out" "$THOME/.local" 2>/dev/null || true; } | awk '{s+=$1} END{print s+0}')
	reset
	if [[ -z $sq ]]; then
		log "$name: exited 0 but made no squashfs (see $W/$name.log)"
		RESULTS+=("| $name | no squashfs made | | | | \`$cmd\` |")
		return 0
	fi
	RESULTS+=("| $name | $best | $((rss / 1024)) | $((sq >> 20)) | $used | \`$cmd\` |")
	log "$name: ${best} s, $((rss / 1024)) MiB peak"
}
skip() { [[ " $SKIP " == *" $1 "* ]]; }

export CONTAINERS_CONF=${CONTAINERS_CONF:-$PCOCC_CI_DIR/containers.conf}
install -d -o "$U" -m 0700 "$W/xdg"
trap reset EXIT
log "image: $ARCHIVE ($ARCHIVE_MB MiB, $LAYERS layers); jobs=$JOBS runs=$RUNS; as $U"

skip floor || measure floor \
	"cat $ARCHIVE >/dev/null && tar2sqfs -q -f -c zstd -X level=3 -j $JOBS out/floor.sqfs <$IMG/flat.tar"
skip pcocc || measure pcocc \
	"pcocc image import -q docker-archive:$ARCHIVE bench"
skip umoci || measure umoci-pipeline \
	"skopeo copy -q docker-archive:$ARCHIVE oci:out/oci:bench && umoci unpack --rootless --image out/oci:bench out/bundle 2>/dev/null && mksquashfs out/bundle/rootfs out/bench.sqfs -noappend -quiet -no-progress -comp zstd -Xcompression-level 3 -processors $JOBS"
skip charliecloud || measure charliecloud \
	"podman load -q -i $ARCHIVE >/dev/null && ch-convert -i podman -o squash docker.io/library/bench:latest out/bench.sqfs"

echo
echo "Image: docker-archive, $ARCHIVE_MB MiB, $LAYERS layers ($(tar -tf "$IMG/flat.tar" | wc -l) entries flattened)." \
	"Host: $(nproc) CPUs, $(uname -r). $(date -u +%Y-%m-%d). Best of $RUNS run(s), page cache warm, as user $U." \
	"Peak RSS is that of the row's largest process."
echo
echo "| row | wall (s) | peak RSS (MiB) | squashfs (MiB) | disk used (MiB) | command |"
echo "|---|---:|---:|---:|---:|---|"
printf '%s\n' "${RESULTS[@]}"
