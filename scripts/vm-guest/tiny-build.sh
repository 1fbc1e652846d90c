# shellcheck shell=bash
# Sourced by scripts/vm-images.sh (which says what the guests are): builds the
# tiny guest, build_tiny DEST.
# Part of the guest's cache key: editing it rebuilds the guest.

# Modules the tiny guest loads (their dependencies are added).
TINY_MODULES=(virtio_pci virtio_net virtio_blk virtio_console virtiofs isofs)
# fetch_kernel DIR: the cloud kernel package unpacked in DIR/kx.
# PCOCC_VM_KERNEL_DEB: a linux-image-*-cloud-amd64 .deb to use instead.
fetch_kernel() {
	local d=$1 deb=${PCOCC_VM_KERNEL_DEB:-} pkg
	if [[ -z $deb ]]; then
		(cd "$d" && apt-get download -q linux-image-cloud-amd64 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) ||
			die "apt-get download linux-image-cloud-amd64 failed (run apt-get update, or set PCOCC_VM_KERNEL_DEB)"
		# The meta package depends on the versioned one, which holds the kernel.
		pkg=$(dpkg-deb -f "$d"/linux-image-cloud-amd64_*.deb Depends | grep -o 'linux-image-[^ ,]*-cloud-amd64' | head -1)
		[[ -n $pkg ]] || die "linux-image-cloud-amd64 names no kernel package"
		(cd "$d" && apt-get download -q "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) || die "apt-get download $pkg failed"
		deb=$(ls "$d/$pkg"_*.deb)
	fi
	dpkg-deb -x "$deb" "$d/kx"
}

# module_order KODIR NAME...: NAME and its dependencies, dependencies first
# (there is no modules.dep in the package: read each module's depends=).
module_order() {
	local kodir=$1; shift
	local -A seen=()
	visit() {
		local m=$1 f dep
		[[ -n ${seen[$m]:-} ]] && return 0
		seen[$m]=1
		f=$(find "$kodir" -name "$m.ko" -print -quit)
		[[ -n $f ]] || die "module $m is not in the kernel package"
		for dep in $(strings "$f" | sed -n 's/^depends=//p' | tr , ' '); do visit "$dep"; done
		echo "$m"
	}
	for m in "$@"; do visit "$m"; done
}

# boot_check DIR TIMEOUT QEMUARGS... -- PATTERN: boots under TCG with the
# serial console on stdout and succeeds once PATTERN appears.
boot_check() {
	local dir=$1 timeout=$2; shift 2
	local args=() pat log=$dir/check-console.log
	while [[ $1 != -- ]]; do args+=("$1"); shift; done
	pat=$2
	timeout "$timeout" qemu-system-x86_64 -accel tcg -machine q35 -cpu max -smp 1 -m 256 \
		-nographic -nodefaults -no-reboot -serial stdio "${args[@]}" </dev/null >"$log" 2>&1 || true
	grep -q "$pat" "$log" || { tail -20 "$log" >&2; die "the guest in $dir did not print '$pat' within ${timeout}s"; }
}

build_tiny() {
	local dest=$1 tmp kdir kver m
	tmp=$(mktemp -d /var/tmp/pcocc-vm-tiny.XXXXXX)
	CLEAN+=("$tmp")
	fetch_kernel "$tmp"
	kdir=$(ls -d "$tmp"/kx/lib/modules/*)
	kver=${kdir##*/}
	local r=$tmp/initramfs
	mkdir -p "$r"/{bin,dev,proc,sys,etc,lib/modules,mnt,tmp,run,seed,root}
	ln -s bin "$r/sbin"
	install -m 0755 /bin/busybox "$r/bin/busybox"
	for a in $(/bin/busybox --list); do [[ $a == busybox ]] || ln -s busybox "$r/bin/$a"; done
	module_order "$kdir" "${TINY_MODULES[@]}" >"$r/modules.list"
	while read -r m; do
		install -m 0644 "$(find "$kdir" -name "$m.ko" -print -quit)" "$r/lib/modules/$m.ko"
	done <"$r/modules.list"
	install -m 0755 "$GUEST/tiny-init" "$r/init"
	install -m 0755 "$GUEST/tiny-udhcpc" "$r/bin/udhcpc-script"
	install -m 0755 "$GUEST/tiny-hello" "$r/bin/tiny-hello"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\n' >"$r/etc/group"
	(cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) | gzip -1 -n >"$tmp/initrd.gz"
	# The disk: what a VM image of the tests holds (a marker file to read back).
	mkdir -p "$tmp/disk"
	echo "pcocc tiny disk" >"$tmp/disk/pcocc-disk"
	truncate -s 64M "$tmp/disk.raw"
	mkfs.ext4 -q -d "$tmp/disk" -L tiny "$tmp/disk.raw"
	qemu-img convert -f raw -O qcow2 "$tmp/disk.raw" "$tmp/disk.qcow2"
	install -m 0644 "$tmp"/kx/boot/vmlinuz-* "$tmp/vmlinuz"
	echo "$kver" >"$tmp/kernel-version"
	# Checked: boots, reads its disk, gets a DHCP lease from qemu's user network.
	boot_check "$tmp" 300 -kernel "$tmp/vmlinuz" -initrd "$tmp/initrd.gz" \
		-append "console=ttyS0 quiet panic=-1 pcocc.hostname=check pcocc.poweroff=ready" \
		-drive "file=$tmp/disk.qcow2,if=virtio,format=qcow2,snapshot=on" \
		-netdev user,id=n0 -device virtio-net-pci,netdev=n0 -- 'PCOCC-TINY-GUEST-READY'
	grep -q 'PCOCC-TINY-GUEST-NET ip=10.0.2.15/24' "$tmp/check-console.log" || die "the tiny guest got no DHCP lease"
	grep -q 'PCOCC-TINY-GUEST-DISK pcocc tiny disk' "$tmp/check-console.log" || die "the tiny guest did not read its disk"
	install -d -m 0755 "$dest.tmp"
	install -m 0644 "$tmp"/{vmlinuz,initrd.gz,disk.qcow2,kernel-version,check-console.log} "$dest.tmp/"
}

