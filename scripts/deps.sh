#!/usr/bin/env bash
# Installs everything pcocc's build, tests, demo and benchmarks need on Debian 12
# (bookworm), and prepares the machine: device node modes, the unprivileged
# test user, podman's containers.conf workaround. Idempotent; run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
need_root

PACKAGES=(
	# build
	make gcc libc6-dev ca-certificates procps curl
	# squashfs, FUSE, namespaces
	squashfs-tools squashfs-tools-ng squashfuse fuse3 fuse-overlayfs uidmap bubblewrap
	# image tools used to make test images
	skopeo umoci podman crun runc busybox-static slirp4netns catatonit debootstrap
	docker.io docker-registry charliecloud siftool
	# Slurm
	slurm-wlm slurmctld slurmd slurm-client munge libslurm-dev
	openmpi-bin libopenmpi-dev
	# VMs
	qemu-system-x86 qemu-utils genisoimage socat cpio etcd-server etcd-client
	# VM networks (internal/vmnet): bridge and taps, DHCP+DNS, NAT; guests
	iproute2 dnsmasq-base nftables e2fsprogs openssh-client
	# docs and benchmarks
	man-db hyperfine time
)

missing=()
for p in "${PACKAGES[@]}"; do
	[[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing+=("$p")
done
if ((${#missing[@]})); then
	log "installing ${#missing[@]} packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# man-db rebuilds its index after every install otherwise (slow, useless here)
	echo 'man-db man-db/auto-update boolean false' | debconf-set-selections
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
	log "all ${#PACKAGES[@]} packages already installed"
fi

# No udev on the CI machines: FUSE and tap devices are root-only by default.
for dev in /dev/fuse /dev/net/tun; do
	if [[ -e $dev ]]; then chmod 0666 "$dev"; else log "warning: $dev is missing"; fi
done

if ! id "$PCOCC_TEST_USER" >/dev/null 2>&1; then
	log "creating user $PCOCC_TEST_USER"
	useradd -m -s /bin/bash "$PCOCC_TEST_USER"
fi
# A second unprivileged user: the attacker in the tests of attacks between users.
if ! id tester2 >/dev/null 2>&1; then
	log "creating user tester2"
	useradd -m -s /bin/bash tester2
fi
# The tests' dockerd (scripts/services.sh) gives its socket to group docker:
# the docker-daemon: transport is tested as this user.
getent group docker >/dev/null && usermod -aG docker "$PCOCC_TEST_USER"
# Rootless podman and umoci want subordinate ids (useradd adds them on Debian 12).
for f in /etc/subuid /etc/subgid; do
	grep -q "^$PCOCC_TEST_USER:" "$f" 2>/dev/null || echo "$PCOCC_TEST_USER:100000:65536" >>"$f"
done

# podman as root here: root lacks CAP_SYS_RESOURCE (default ulimits fail) and
# crun rejects the hybrid cgroup layout, so use runc and explicit ulimits.
# Used through CONTAINERS_CONF by test/fixtures/make-images.sh and bench/.
mkdir -p "$PCOCC_CI_DIR"
chmod 0755 "$PCOCC_CI_DIR"
cat >"$PCOCC_CI_DIR/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
netns = "none"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
chmod 0644 "$PCOCC_CI_DIR/containers.conf"

GO=/usr/local/go/bin/go
if [[ ! -x $GO ]]; then
	log "warning: Go is not installed at /usr/local/go (need Go >= 1.26 from go.dev/dl)"
else
	v=$($GO env GOVERSION); v=${v#go}
	IFS=. read -r major minor _ <<<"$v"
	if ((major < 1 || (major == 1 && minor < 26))); then
		log "warning: Go $v at /usr/local/go is too old (need >= 1.26)"
	fi
	# staticcheck for `make lint` (CI's first phase); 0.8.x supports Go 1.26.
	STATICCHECK=v0.8.2
	if [[ $(/usr/local/bin/staticcheck -version 2>/dev/null) != *"(${STATICCHECK#v})" ]]; then
		log "installing staticcheck $STATICCHECK"
		GOBIN=/usr/local/bin $GO install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK"
	fi
fi
log "done"
