# shellcheck shell=bash
# Sourced by scripts/vm-images.sh (which says what the guests are): builds the
# Docker guest, build_docker DEST: the Debian guest's packages and setup
# (scripts/vm-guest/debian-*, part of this guest's cache key too) plus the
# Docker engine and AppArmor (the cloud kernel enables AppArmor: without its
# userspace every `docker run` and RUN step fails), then scripts/vm-guest/
# docker-setup. Needs debian-build.sh sourced first.

DOCKER_PACKAGES=$DEBIAN_PACKAGES,docker.io,apparmor,containerd,runc,tini,iptables,pigz,xz-utils

build_docker() {
	local dest=$1 tmp root
	[[ $(id -u) == 0 ]] || die "building the Docker guest needs root (debootstrap); run it as root once, later runs use the cache"
	command -v debootstrap >/dev/null || die "debootstrap is missing (scripts/deps.sh installs it)"
	tmp=$(mktemp -d /var/tmp/pcocc-vm-docker.XXXXXX)
	CLEAN+=("$tmp")
	root=$tmp/rootfs
	log "debootstrap $SUITE with cloud-init, openssh-server and docker.io from $MIRROR (several minutes)"
	debootstrap --variant=minbase --include="$DOCKER_PACKAGES" "$SUITE" "$root" "$MIRROR" >"$tmp/debootstrap.log" 2>&1 ||
		{ tail -20 "$tmp/debootstrap.log" >&2; die "debootstrap failed"; }
	install -m 0755 "$GUEST/debian-setup" "$root/debian-setup"
	install -m 0755 "$GUEST/docker-setup" "$root/docker-setup"
	chroot "$root" /docker-setup
	chroot "$root" /debian-setup
	rm -f "$root/debian-setup" "$root/docker-setup"
	install -m 0644 "$root"/boot/vmlinuz-* "$tmp/vmlinuz"
	install -m 0644 "$root"/boot/initrd.img-* "$tmp/initrd.img"
	basename "$root"/boot/vmlinuz-* | sed 's/^vmlinuz-//' >"$tmp/kernel-version"
	truncate -s 4G "$tmp/disk.raw"
	mkfs.ext4 -q -d "$root" -L root "$tmp/disk.raw"
	rm -rf "$root"
	qemu-img convert -f raw -O qcow2 "$tmp/disk.raw" "$tmp/disk.qcow2"
	rm -f "$tmp/disk.raw"
	docker_check "$tmp"
	install -d -m 0755 "$dest.tmp"
	install -m 0644 "$tmp"/{vmlinuz,initrd.img,disk.qcow2,kernel-version,check-console.log} "$dest.tmp/"
}

# docker_check DIR: boots DIR/disk.qcow2 as debian_check does (its own
# NoCloud seed made with genisoimage, ssh on a forwarded port) and waits until
# the engine answers `docker info` over ssh with its data in memory (no data
# disk), AppArmor loaded.
docker_check() {
	local d=$1 port pid ok=false out
	mkdir -p "$d/seed"
	ssh-keygen -q -t ed25519 -N '' -f "$d/key"
	printf 'instance-id: check\nlocal-hostname: dockercheck\n' >"$d/seed/meta-data"
	printf '#cloud-config\nssh_genkeytypes: [ed25519]\nusers:\n  - name: check\n    sudo: ALL=(ALL) NOPASSWD:ALL\n    ssh_authorized_keys: ["%s"]\n' \
		"$(cat "$d/key.pub")" >"$d/seed/user-data"
	genisoimage -quiet -output "$d/seed.iso" -volid cidata -joliet -rock "$d/seed/user-data" "$d/seed/meta-data"
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	qemu-system-x86_64 -accel tcg -machine q35 -cpu max -smp 2 -m 2048 -nographic -nodefaults -no-reboot \
		-serial "file:$d/check-console.log" -kernel "$d/vmlinuz" -initrd "$d/initrd.img" \
		-append "console=ttyS0 root=/dev/vda rw net.ifnames=0 panic=-1" \
		-drive "file=$d/disk.qcow2,if=virtio,format=qcow2,snapshot=on" \
		-drive "file=$d/seed.iso,if=virtio,format=raw,readonly=on" \
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=n0 &
	pid=$!
	local deadline=$(($(date +%s) + 1800))
	while (($(date +%s) < deadline)); do
		out=$(timeout 200 ssh -q -i "$d/key" -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
			-o ConnectTimeout=180 -o BatchMode=yes -o KexAlgorithms=curve25519-sha256 check@127.0.0.1 \
			'docker info --format "{{.Driver}} {{.DockerRootDir}} {{.SecurityOptions}}" && findmnt -no FSTYPE /var/lib/docker' 2>/dev/null) || true
		if [[ $out == *overlay2*/var/lib/docker*apparmor*tmpfs* ]]; then
			ok=true
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 5
	done
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	$ok || { tail -30 "$d/check-console.log" >&2; die "the Docker guest's engine did not answer (overlay2 on tmpfs, AppArmor) within 30 minutes: ${out:-no answer}"; }
}
