#!/bin/bash
# slurmd-keep.sh NODE SLURM_DIR: runs `slurmd -D -N NODE` and starts it again
# whenever it exits without being asked to. Started detached by
# scripts/services.sh (inside the node's namespaces when there is a fabric).
#
# Why: Debian's slurmd 22.05 died once in CI, silently (no log line, no
# segfault in the kernel log), while launching three 2-node steps at once;
# every test after it waited on a node that never answered again, and the
# run hung until go test's timeout. Now the death is written down (its exit
# status, the signal, whether it left a core) in SLURM_DIR/log/slurmd-exits.log
# and the node's own log, and the node is back a second later.
# scripts/run-e2e.sh prints slurmd-exits.log after the tests.
#
# `services.sh stop` creates SLURM_DIR/run/slurmd-NODE.stop before killing
# slurmd: then this loop ends.
set -uo pipefail
n=$1 dir=$2
stopflag=$dir/run/slurmd-$n.stop
spool=$dir/spool-$n
exits=$dir/log/slurmd-exits.log
rm -f "$stopflag"
# A core (if slurmd dumps one) lands in its working directory: the spool.
ulimit -c unlimited 2>/dev/null || true
install -d -m 0755 "$spool"
cd "$spool" || exit 1
# glibc's own fatal messages (heap corruption) go to stderr, not a tty.
export LIBC_FATAL_STDERR_=1
while :; do
	/usr/sbin/slurmd -D -N "$n" </dev/null >>"$dir/log/slurmd-$n.stderr" 2>&1
	st=$?
	[[ -e $stopflag ]] && break
	why="exit status $st"
	((st > 128)) && why="killed by signal $((st - 128)) ($(kill -l $((st - 128)) 2>/dev/null))"
	cores=$(ls -t core* 2>/dev/null | head -1)
	[[ -z $cores ]] || why="$why, core $spool/$cores"
	line="$(date +%FT%T) slurmd $n ended unasked: $why; started again"
	{ printf '%s\n' "$line"; tail -n 3 "$dir/log/slurmd-$n.stderr" | sed 's/^/    /'; } >>"$exits"
	printf '[%s] [slurmd-keep.sh] %s\n' "$(date +%FT%T)" "$line" >>"$dir/log/slurmd-$n.log"
	sleep 1
	[[ -e $stopflag ]] && break
done
rm -f "$stopflag"
