#!/usr/bin/env bash
# vm-images.sh [tiny|debian|docker|all]...: builds the offline test guests of the VM
# tests (default: tiny), each checked to boot under qemu TCG before it is kept.
#
#  tiny    Debian's cloud kernel (linux-image-cloud-amd64, fetched with
#          `apt-get download`) and a busybox initramfs (scripts/vm-guest/tiny-*):
#          DHCP client, TCP listeners, console markers, a root shell on the
#          console; plus a 64 MiB ext4 disk.qcow2. Seconds to build and to boot.
#  debian  Debian bookworm from debootstrap (needs root and a mirror) with
#          cloud-init and openssh-server, as disk.qcow2 with its kernel and
#          initrd beside it (boot with -kernel/-initrd, root=/dev/vda). Minutes.
#  docker  the Debian guest plus docker.io and apparmor, dockerd started at
#          boot with /var/lib/docker on a data disk (serial or label
#          pcocc-docker) or on tmpfs; the image of `pcocc docker`. Minutes.
#
# Each guest is cached in $PCOCC_VM_IMAGES (default $PCOCC_CI_DIR/vm-images)
# under NAME-KEY, KEY being the hash of its scripts (scripts/vm-guest/NAME-*):
# editing them rebuilds, anything else reuses. NAME is a symbolic link to the
# current NAME-KEY: the tests read $PCOCC_VM_IMAGES/NAME/{vmlinuz,initrd*,
# disk.qcow2}.
# `vm-images.sh --cached NAME` exits 0 when NAME is built for these scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh

OUT=${PCOCC_VM_IMAGES:-$PCOCC_CI_DIR/vm-images}
MIRROR=${PCOCC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
GUEST=scripts/vm-guest
CLEAN=() # temporary directories, removed at exit
trap 'rm -rf "${CLEAN[@]}"' EXIT

# The guests' own build steps: build_NAME DEST writes DEST.tmp.
. "$GUEST/tiny-build.sh"
. "$GUEST/debian-build.sh"
. "$GUEST/docker-build.sh"

key() { # key NAME: hash of the files that build the guest (not this one)
	local files=("$GUEST/$1"-*)
	# The Docker guest is the Debian one plus the engine.
	[[ $1 != docker ]] || files+=("$GUEST"/debian-*)
	cat "${files[@]}" | sha256sum | cut -c1-16
}

# ensure NAME: builds NAME unless cached; points OUT/NAME at it. A lock per
# guest makes concurrent runs (two checkouts' CI) build it once.
ensure() {
	local name=$1 k dest start lock
	k=$(key "$name")
	dest=$OUT/$name-$k
	install -d -m 0755 "$OUT"
	exec {lock}>"$OUT/.$name.lock"
	flock "$lock"
	if [[ ! -f $dest/disk.qcow2 ]]; then
		start=$(date +%s)
		rm -rf "$dest.tmp"
		"build_$name" "$dest"
		rm -rf "$dest"
		mv "$dest.tmp" "$dest"
		log "built $dest in $(($(date +%s) - start)) s"
	fi
	ln -sfn "$name-$k" "$OUT/$name.tmp"
	mv -T "$OUT/$name.tmp" "$OUT/$name"
	# Versions no run asked for in a week go (each run touches its own).
	touch "$dest"
	find "$OUT" -mindepth 1 -maxdepth 1 -type d -name "$name-*" ! -name "$name-$k" -mtime +7 -exec rm -rf {} +
	exec {lock}>&-
	log "ready: $OUT/$name -> $name-$k"
}

if [[ ${1:-} == --cached ]]; then
	[[ $# == 2 ]] || die "usage: $0 --cached tiny|debian|docker"
	[[ -f $OUT/$2-$(key "$2")/disk.qcow2 ]]
	exit
fi
(($#)) || set -- tiny
for g in "$@"; do
	case $g in
	tiny | debian | docker) ensure "$g" ;;
	all) ensure tiny && ensure debian && ensure docker ;;
	*) echo "usage: $0 [tiny|debian|docker|all]..." >&2; exit 2 ;;
	esac
done
