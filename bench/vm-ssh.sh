# shellcheck shell=bash
# Sourced by bench/vm.sh: the Debian guest to ssh-ready, by pcocc alloc and
# by a bare QEMU command line with the same kernel, disk, memory, CPU and
# cloud-init seed (pcocc's own, copied out of its job directory), reached
# through QEMU's user-mode network. DEB_RUNS (default 1) runs each.
D=${PCOCC_VM_IMAGES}/debian
if [[ ! -f $D/disk.qcow2 ]]; then
	echo "| Debian ssh-ready | skipped: no $D (scripts/vm-images.sh debian) |"
	return 0
fi
PATH=$BIN:$PATH pcocc image import -q "$D/disk.qcow2" debdisk
cat >>"$PCOCC_CONFIG_PATH/templates.yaml" <<EOT
deb:
  image: user:debdisk
  kernel: $D/vmlinuz
  initrd: $D/initrd.img
EOT
KEY=$XDG_DATA_HOME/pcocc/ssh/id_ed25519

# deb_alloc: pcocc alloc until `pcocc ssh vm0 true` works; keeps the seed
# and the QEMU command line for the bare run.
deb_alloc() {
	local s='until pcocc ssh -o ConnectTimeout=10 vm0 true 2>/dev/null; do sleep 0.5; done; date +%s.%N >'$W/ready'
d=$XDG_RUNTIME_DIR/pcocc/vm/$PCOCC_JOB_ID; cp $d/vm0-seed.iso '$W/seed.iso'
tr "\0" "\n" </proc/$(sed -n "s/.*\"pid\": \([0-9]*\).*/\1/p" $d/state.json | sed -n 2p)/cmdline >'$W/qemu.argv
	PATH=$BIN:$PATH pcocc alloc -m 1024 -E "$s" deb
}

# deb_bare: the same guest by hand: what pcocc's QEMU had, with user-mode
# networking forwarding a free port to 22 in place of the cluster's tap.
deb_bare() {
	local port ov=$W/deb-ov.qcow2 log=$W/deb-bare.log pid t0
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	qemu-img create -q -f qcow2 -b "$D/disk.qcow2" -F qcow2 "$ov"
	t0=$(now)
	qemu-system-x86_64 -nodefaults -display none -machine pc -accel tcg,tb-size=64 -cpu max -smp 1 -m 1024M \
		-serial "file:$log" -kernel "$D/vmlinuz" -initrd "$D/initrd.img" \
		-append "$(grep -A1 '^-append$' "$W/qemu.argv" | tail -1)" \
		-drive "file=$ov,if=none,id=disk0,format=qcow2,cache=unsafe" -device virtio-blk-pci,drive=disk0 \
		-drive "file=$W/seed.iso,if=none,id=seed,format=raw,readonly=on" -device virtio-blk-pci,drive=seed \
		-netdev "user,id=net0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=net0 &
	pid=$!
	until ssh -q -i "$KEY" -p "$port" -o BatchMode=yes -o ConnectTimeout=10 -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null "$(id -un)@127.0.0.1" true 2>/dev/null; do sleep 0.5; done
	echo "$(now) - $t0" | bc -l
	kill "$pid"; wait "$pid" 2>/dev/null || true
	rm -f "$ov"
}

declare -a dr dt db
for ((r = 0; r < ${DEB_RUNS:-1}; r++)); do
	t0=$(now)
	deb_alloc >/dev/null 2>&1
	dt+=("$(echo "$(now) - $t0" | bc -l)")
	dr+=("$(echo "$(cat "$W/ready") - $t0" | bc -l)")
	db+=("$(deb_bare)")
done
row "Debian: bare qemu to ssh-ready (median of ${DEB_RUNS:-1})" "${db[@]}"
row "Debian: pcocc alloc to ssh-ready (median of ${DEB_RUNS:-1})" "${dr[@]}"
row "Debian: pcocc alloc, command returned (median of ${DEB_RUNS:-1})" "${dt[@]}"
