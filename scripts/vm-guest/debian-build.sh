# shellcheck shell=bash
# Sourced by scripts/vm-images.sh (which says what the guests are): builds the
# Debian guest, build_debian DEST.
# Part of the guest's cache key: editing it rebuilds the guest.

# Packages of the Debian guest (python3-cffi-backend: a virtual dependency of
# cloud-init that debootstrap does not resolve; without it cloud-init stays
# unconfigured).
DEBIAN_PACKAGES=linux-image-cloud-amd64,systemd-sysv,udev,initramfs-tools,openssh-server,cloud-init,python3-cffi-backend,ifupdown,isc-dhcp-client,iproute2,iputils-ping,sudo,ca-certificates,netcat-openbsd

build_debian() { build_debootstrap "$1" debian "$DEBIAN_PACKAGES" 2G debian_check debian-setup; }

# build_debootstrap DEST NAME PACKAGES SIZE CHECK SETUP...: a guest made by
# debootstrap with PACKAGES, each SETUP script of $GUEST run in its root in
# turn, as an ext4 disk of SIZE (qcow2) with its kernel and initrd beside
# it; CHECK DIR boots it before it is kept in DEST.
build_debootstrap() {
	local dest=$1 name=$2 packages=$3 size=$4 check=$5 tmp root setup
	shift 5
	[[ $(id -u) == 0 ]] || die "building the $name guest needs root (debootstrap); run it as root once, later runs use the cache"
	command -v debootstrap >/dev/null || die "debootstrap is missing (scripts/deps.sh installs it)"
	tmp=$(mktemp -d "/var/tmp/pcocc-vm-$name.XXXXXX")
	CLEAN+=("$tmp")
	root=$tmp/rootfs
	log "debootstrap $SUITE with $packages from $MIRROR (several minutes)"
	debootstrap --variant=minbase --include="$packages" "$SUITE" "$root" "$MIRROR" >"$tmp/debootstrap.log" 2>&1 ||
		{ tail -20 "$tmp/debootstrap.log" >&2; die "debootstrap failed"; }
	for setup in "$@"; do
		install -m 0755 "$GUEST/$setup" "$root/$setup"
		chroot "$root" "/$setup"
		rm -f "${root:?}/$setup"
	done
	install -m 0644 "$root"/boot/vmlinuz-* "$tmp/vmlinuz"
	install -m 0644 "$root"/boot/initrd.img-* "$tmp/initrd.img"
	basename "$root"/boot/vmlinuz-* | sed 's/^vmlinuz-//' >"$tmp/kernel-version"
	truncate -s "$size" "$tmp/disk.raw"
	mkfs.ext4 -q -d "$root" -L root "$tmp/disk.raw"
	rm -rf "$root"
	qemu-img convert -f raw -O qcow2 "$tmp/disk.raw" "$tmp/disk.qcow2"
	rm -f "$tmp/disk.raw"
	"$check" "$tmp"
	install -d -m 0755 "$dest.tmp"
	install -m 0644 "$tmp"/{vmlinuz,initrd.img,disk.qcow2,kernel-version,check-console.log} "$dest.tmp/"
}

# debian_check DIR [COMMAND PATTERN]: boots DIR/disk.qcow2 with a NoCloud
# seed (made with genisoimage, independent of pcocc's own), logs in over ssh
# on a forwarded port with the seed's key and runs COMMAND (default:
# hostname) until its output matches the glob PATTERN (default: the seed's
# hostname).
debian_check() {
	local d=$1 cmd=${2:-hostname} want=${3:-vmcheck} port pid ok=false out
	mkdir -p "$d/seed"
	ssh-keygen -q -t ed25519 -N '' -f "$d/key"
	printf 'instance-id: check\nlocal-hostname: vmcheck\n' >"$d/seed/meta-data"
	printf '#cloud-config\nssh_genkeytypes: [ed25519]\nusers:\n  - name: check\n    sudo: ALL=(ALL) NOPASSWD:ALL\n    ssh_authorized_keys: ["%s"]\n' \
		"$(cat "$d/key.pub")" >"$d/seed/user-data"
	genisoimage -quiet -output "$d/seed.iso" -volid cidata -joliet -rock "$d/seed/user-data" "$d/seed/meta-data"
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	qemu-system-x86_64 -accel tcg -machine q35 -cpu max -smp 2 -m 1024 -nographic -nodefaults -no-reboot \
		-serial "file:$d/check-console.log" -kernel "$d/vmlinuz" -initrd "$d/initrd.img" \
		-append "console=ttyS0 root=/dev/vda rw net.ifnames=0 panic=-1" \
		-drive "file=$d/disk.qcow2,if=virtio,format=qcow2,snapshot=on" \
		-drive "file=$d/seed.iso,if=virtio,format=raw,readonly=on" \
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=n0 &
	pid=$!
	# Under emulation on a loaded machine, boot to sshd takes 1 to 10 minutes
	# and one login over a minute: long timeouts, a 30 minute deadline.
	# curve25519: the default post-quantum key exchange costs the guest ~1 min.
	local deadline=$(($(date +%s) + 1800))
	while (($(date +%s) < deadline)); do
		out=$(timeout 200 ssh -q -i "$d/key" -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
			-o ConnectTimeout=180 -o BatchMode=yes -o KexAlgorithms=curve25519-sha256 \
			check@127.0.0.1 "$cmd" 2>/dev/null) || true
		# shellcheck disable=SC2053 # a glob
		if [[ $out == $want ]]; then
			ok=true
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 5
	done
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	$ok || { tail -30 "$d/check-console.log" >&2; die "the guest did not answer ssh with $want within 30 minutes: ${out:-no answer}"; }
}

