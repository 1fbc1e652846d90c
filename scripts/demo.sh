#!/usr/bin/env bash
# The README's demo, as root on Debian 12: installs what is needed, builds
# pcocc, makes a small image with real tools (busybox-static, umoci, skopeo;
# nothing downloaded), then, as the unprivileged user "tester", imports it
# into the user's repository, lists it and runs a command in it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
need_root
export PATH=/usr/local/go/bin:$PATH

bash scripts/deps.sh
make --no-print-directory build

D=$PCOCC_CI_DIR/demo           # readable by tester, whatever the checkout's modes
rm -rf "$D"; install -d -m 0755 "$D" "$D/bin"
install -m 0755 bin/pcocc bin/pcocc-cli bin/pcocc-init "$D/bin/"; ln -s pcocc "$D/bin/pcocc-rs"
chown "$PCOCC_TEST_USER:" "$D"
THOME=$(getent passwd "$PCOCC_TEST_USER" | cut -d: -f6)

as_tester() { as_tester_in "$D" "$@"; }
as_tester_in() {
	local dir=$1; shift
	(cd "$dir" && runuser -u "$PCOCC_TEST_USER" -- env -i HOME="$THOME" USER="$PCOCC_TEST_USER" \
		LOGNAME="$PCOCC_TEST_USER" LANG=C.UTF-8 TERM="${TERM:-dumb}" \
		PATH="$D/bin:/usr/local/bin:/usr/bin:/bin" "$@")
}
show() { printf '\n$ %s\n' "$*"; as_tester "$@"; }
show_in() { local dir=$1; shift; printf '\n$ %s\n' "$*"; as_tester_in "$dir" "$@"; }

log "making the demo image with umoci and skopeo (as $PCOCC_TEST_USER)"
as_tester bash -euo pipefail -c '
	umoci init --layout oci
	umoci new --image oci:demo
	umoci unpack --rootless --image oci:demo bundle 2>/dev/null
	r=bundle/rootfs
	mkdir -p $r/bin $r/etc $r/tmp $r/root $r/proc $r/sys $r/dev
	cp /bin/busybox $r/bin/
	for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox $r/bin/$a; done
	printf "root:x:0:0:root:/root:/bin/sh\n" >$r/etc/passwd
	echo "Hello from a pcocc demo image" >$r/etc/motd
	umoci repack --image oci:demo bundle
	umoci config --image oci:demo --config.cmd /bin/sh --config.env PATH=/bin \
		--config.label org.opencontainers.image.title=demo
	skopeo copy -q oci:oci:demo docker-archive:demo.tar:demo:latest
	rm -rf bundle oci'

show pcocc-rs image import -f docker-archive:demo.tar demo
show pcocc-rs image list

# Run it (from /: the host's cwd is propagated, and the demo's work
# directory is not in the image).
printf '\n$ pcocc-rs run demo echo hello\n'
as_tester_in / pcocc-rs run demo echo hello
