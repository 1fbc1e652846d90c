# shellcheck shell=bash
# Sourced by bench/vm.sh: guest-to-guest throughput, 64 MiB from vm0 to vm1
# with busybox dd | nc in the tiny guests, timed by the receiver from its
# first byte to the end (/proc/uptime: 10 ms steps). Once on the cluster
# network of pcocc alloc, once on a bare bridge: two QEMUs on two taps of a
# bridge in a user+net namespace, static addresses, same QEMU options.
SEND='dd if=/dev/zero bs=64k count=1024 2>/dev/null | nc %s 5001; echo SENT-$((6*7))'
RECV='nc -l -p 5001 | (head -c 1 >/dev/null; a=$(cut -d" " -f1 /proc/uptime); n=$(wc -c); b=$(cut -d" " -f1 /proc/uptime); echo "RX $((n+1)) $a $b")'
# mibps "RX BYTES A B": MiB/s
mibps() { awk '{printf "%.1f\n", $2 / 1048576 / ($4 - $3)}' <<<"$1"; }

net_pcocc() {
	local s
	s=$(printf '%s' 'for v in vm0 vm1; do until pcocc console -l $v | grep -q PCOCC-TINY-GUEST-READY; do sleep 0.2; done; done
(sleep 1; echo '"'$RECV'"'; until [ -e '$W'/stop ]; do sleep 0.5; done) | pcocc console vm1 >/dev/null & p1=$!; sleep 3
(sleep 1; echo '"'$(printf "$SEND" vm1)'"'; until [ -e '$W'/stop ]; do sleep 0.5; done) | pcocc console vm0 >/dev/null & p2=$!
until pcocc console -l vm1 | grep -a -o -E "RX [0-9]+ [0-9.]+ [0-9.]+" >'$W'/rx; do sleep 0.5; done; touch '$W'/stop; wait')
	rm -f "$W/stop"
	PATH=$BIN:$PATH pcocc alloc -m 256 -E "$s" tiny:2 >/dev/null 2>&1
	mibps "$(cat "$W/rx")"
}

# net_bare: the same two guests by hand; consoles on FIFOs (-serial pipe:P
# reads P.in, writes P.out).
net_bare() {
	local d=$W/bare-net
	rm -rf "$d" && mkdir -p "$d"
	for i in 0 1; do mkfifo "$d/con$i.in" "$d/con$i.out"; done
	unshare --user --map-root-user --net --pid --fork --kill-child sh -c '
		d=$1 G=$2
		ip link add br0 type bridge && ip link set br0 up
		for i in 0 1; do
			ip tuntap add vmtap$i mode tap && ip link set vmtap$i master br0 up
			qemu-system-x86_64 -nodefaults -display none -machine pc -accel tcg,tb-size=64 -cpu max -smp 1 -m 256M \
				-serial pipe:$d/con$i -kernel $G/vmlinuz -initrd $G/initrd.gz -append "console=ttyS0 quiet panic=-1" \
				-netdev tap,id=net0,ifname=vmtap$i,script=no,downscript=no -device virtio-net,netdev=net0,mac=52:54:00:00:00:0$i 2>/dev/null &
		done
		wait' sh "$d" "$G" &
	local pid=$!
	for i in 0 1; do cat "$d/con$i.out" >"$d/log$i" & done
	exec 7>"$d/con0.in" 8>"$d/con1.in"
	for i in 0 1; do until grep -q PCOCC-TINY-GUEST-READY "$d/log$i"; do sleep 0.2; done; done
	echo 'ip addr add 10.9.0.10/24 dev eth0' >&7
	echo 'ip addr add 10.9.0.11/24 dev eth0' >&8
	sleep 1
	echo "$RECV" >&8
	sleep 3
	printf "$SEND\n" 10.9.0.11 >&7
	until grep -a -o -E "RX [0-9]+ [0-9.]+ [0-9.]+" "$d/log1" >"$W/rx-bare"; do sleep 0.5; done
	exec 7>&- 8>&-
	# SIGKILL: unshare --fork ignores SIGTERM; its child, the namespace's
	# init, dies with it, and every QEMU with the pid namespace.
	kill -KILL "$pid"; wait 2>/dev/null || true
	mibps "$(cat "$W/rx-bare")"
}

declare -a np nb
for ((r = 0; r < RUNS; r++)); do
	nb+=("$(net_bare)")
	np+=("$(net_pcocc)")
done
printf '| guest-to-guest, bare bridge + 2 taps (median of %s) | %s MiB/s |\n' "$RUNS" "$(median "${nb[@]}")"
printf '| guest-to-guest, pcocc cluster network (median of %s) | %s MiB/s |\n' "$RUNS" "$(median "${np[@]}")"
