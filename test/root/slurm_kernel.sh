#!/usr/bin/env bash
# The Slurm plugin's kernel squashfs mount (docs/admin-guide.md, "Kernel
# squashfs mounts") between two users, and the site's kernel= restriction:
# while $PCOCC_TEST_USER's step runs on the kernel mount, tester2's step and
# tester2 on the host cannot reach it (the mount is in the first user's
# helper's mount namespace only), and with kernel=DIR an image elsewhere is
# refused with one line naming kernel= (status 125); where the kernel mount
# fails on a node, a warning and the image mounted as the user. The
# plugstack line is put back however the script ends.
# As root, with Slurm and the SPANK plugin up (scripts/services.sh); called by
# scripts/run-e2e.sh: slurm_kernel.sh BINDIR FIXTURES PLUGSTACK_CONF.
set -euo pipefail
bin=$1 fixtures=$2 conf=$3
user=${PCOCC_TEST_USER:-tester} other=tester2
[[ $(id -u) == 0 ]] || { echo "slurm_kernel.sh: run as root" >&2; exit 2; }
id "$other" >/dev/null 2>&1 || { echo "slurm_kernel.sh: no user $other (scripts/deps.sh)" >&2; exit 1; }
work=$(mktemp -d /var/tmp/pcocc-kroot-XXXXXX)
saved=$(cat "$conf")
job=
cleanup() {
	[[ -n $job ]] && scancel "$job" 2>/dev/null || true
	printf '%s\n' "$saved" >"$conf"
	if [[ -f /run/pcocc-kernel ]]; then rm -f /run/pcocc-kernel && mkdir -m 0700 /run/pcocc-kernel; fi
	rm -rf "$work"
}
trap cleanup EXIT
chmod 0755 "$work"
fail() { echo "slurm_kernel.sh: FAIL: $*" >&2; exit 1; }

# as USER CMD...: CMD as USER, with a home of their own under $work.
as() {
	local u=$1
	shift
	install -d -o "$u" -m 0700 "$work/$u"
	(cd "$work/$u" && runuser -u "$u" -- env HOME="$work/$u" PATH="$bin:$PATH" SLURM_CONF="$SLURM_CONF" "$@")
}
for u in "$user" "$other"; do
	as "$u" pcocc image import -q "docker-archive:$fixtures/busybox.docker.tar" bb
done

printf '%s kernel=on\n' "${saved% kernel=*}" >"$conf"
as "$user" srun -J "kernel-$$" -n 1 --ctr=bb sleep 300 >/dev/null 2>&1 &
for i in $(seq 300); do
	helper=$(pgrep -u "$user" -f '__spank start' | head -1) || true
	[[ -n $helper ]] && grep -q ' /run/pcocc-kernel ' "/proc/$helper/mountinfo" 2>/dev/null && break
	sleep 0.1
done
[[ -n ${helper:-} ]] || fail "$user's step did not start"
job=$(squeue -h -u "$user" -n "kernel-$$" -o %i)
grep -q ' /run/pcocc-kernel .* - squashfs /dev/loop' "/proc/$helper/mountinfo" || fail "$user's step has no kernel mount"

# tester2: nothing of it in their step's mounts nor the host's, no way in
# through the first user's processes.
out=$(as "$other" srun -n 1 --ctr=bb cat /proc/self/mountinfo 2>&1) || fail "$other's step failed: $out"
grep -q -E "/run/pcocc-kernel|$work/$user( |/)" <<<"$out" && fail "$other's step sees $user's mount: $out"
as "$other" grep -q /run/pcocc-kernel /proc/self/mountinfo && fail "$other sees the kernel mount on the host"
as "$other" ls "/proc/$helper/root/run/pcocc-kernel/" >/dev/null 2>&1 && fail "$other reads $user's image through /proc/$helper/root"
scancel "$job"
job=

# kernel=DIR: an image outside DIR is refused before anything is mounted.
printf '%s kernel=%s\n' "${saved% kernel=*}" "$work/site-images" >"$conf"
rc=0
out=$(as "$user" srun -n 1 --ctr=bb true 2>&1) || rc=$?
[[ $rc == 125 ]] || fail "an image outside kernel=: status $rc, want 125: $out"
grep -q "^pcocc: --ctr=bb: the site allows kernel mounts of images in other directories only (plugstack kernel=)$" <<<"$out" ||
	fail "no kernel= line: $out"
[[ $(grep -c '^pcocc: ' <<<"$out") == 1 ]] || fail "more than one line: $out"
# ... and the user's way out: FUSE, as the user.
out=$(as "$user" env PCOCC_SQUASHFS_MOUNT=sqfuse srun -n 1 --ctr=bb echo ran 2>&1) || fail "sqfuse under kernel=DIR: $out"
[[ $out == ran ]] || fail "sqfuse under kernel=DIR: $out"

# A node where the kernel mount fails (here: its directory is a file): a
# warning, and the image mounted as the user.
printf '%s kernel=on\n' "${saved% kernel=*}" >"$conf"
rmdir /run/pcocc-kernel 2>/dev/null || true
touch /run/pcocc-kernel
out=$(as "$user" srun -n 1 --ctr=bb echo ran 2>&1) || fail "no fallback when the kernel mount fails: $out"
grep -qx ran <<<"$out" || fail "no fallback: $out"
grep -q '^pcocc: warning: the kernel mount of the image failed, mounting it as the user: /run/pcocc-kernel: Not a directory$' <<<"$out" ||
	fail "no warning when the kernel mount fails: $out"
rm -f /run/pcocc-kernel
mkdir -m 0700 /run/pcocc-kernel
echo "slurm_kernel.sh: PASS: another user cannot reach a step's kernel mount; kernel=DIR refuses images elsewhere; a failed kernel mount falls back to the user's"
