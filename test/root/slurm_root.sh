#!/usr/bin/env bash
# Root tasks under `srun --ctr` have no power over the host (docs/slurm.md):
# they run as nobody (uid 65534), with
# no capability left, now or after an exec, and the host-wide files that
# uid 0 may write without one (the sysctls, sysrq-trigger, /sys) read-only.
# Nothing is written: opening for appending is enough to tell.
# As root, with Slurm and the SPANK plugin up (scripts/services.sh); called by
# scripts/run-e2e.sh: slurm_root.sh BINDIR FIXTURES.
set -euo pipefail
bin=$1 fixtures=$2
[[ $(id -u) == 0 ]] || { echo "slurm_root.sh: run as root" >&2; exit 2; }
work=$(mktemp -d /var/tmp/pcocc-root-XXXXXX)
trap 'rm -rf "$work"' EXIT
export HOME=$work/home PCOCC_SYSTEM_CONF_DIR=$work/etc
mkdir -p "$HOME" "$PCOCC_SYSTEM_CONF_DIR"
"$bin/pcocc" image import -q "docker-archive:$fixtures/busybox.docker.tar" bb

# Run in the container as root: one line per thing that is still possible.
probe='
id -u
test ! -e /etc/debian_version && echo in-image
grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb):" /proc/self/status | grep -v "[[:space:]]0*$"
for f in /proc/sys/kernel/core_pattern /proc/sys/kernel/hostname /proc/sysrq-trigger /sys/kernel/mm/ksm/run; do
	test -e "$f" || continue
	if (: >>"$f") 2>/dev/null; then echo "writable: $f"; fi
done
mount -o remount,rw /proc/sys 2>/dev/null && echo "remounted /proc/sys"
mount -t tmpfs none /tmp 2>/dev/null && echo "mounted a tmpfs"
true'
out=$(cd / && srun -n 2 --ctr=bb sh -c "$probe" 2>&1) || { echo "$out" >&2; echo "slurm_root.sh: srun --ctr failed" >&2; exit 1; }
want=$(printf '65534\nin-image\n65534\nin-image')
if [[ $(sort <<<"$out") != $(sort <<<"$want") ]]; then
	printf 'slurm_root.sh: FAIL: a root task of srun --ctr kept some power over the host:\n%s\n' "$out" >&2
	exit 1
fi
echo "slurm_root.sh: PASS: root tasks run as nobody, have no capability and cannot write the host's sysctls"
