#!/usr/bin/env bash
# bench/inittrace.sh: package initialisation per start of Go programs,
# side by side (GODEBUG=inittrace=1): each program's own process only (the
# lines of a program it execs are not counted), RUNS starts of each,
# alternating start by start. As the calling user, from the directory where
# the commands should run. Prints, per program: packages initialised, the
# per-start totals (min, quartiles) and the least of RUNS per package,
# summed (bench/run.sh's measure).
#
#   bench/inittrace.sh 'empty=/tmp/empty' 'pcocc=pcocc run busybox true'
#
# Environment: RUNS (default 40).
set -euo pipefail
RUNS=${RUNS:-40}
(($# > 0)) || { echo "usage: $0 NAME=COMMAND..." >&2; exit 2; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
for ((i = 0; i < RUNS; i++)); do
	for p in "$@"; do
		name=${p%%=*}
		# shellcheck disable=SC2086 # the command is split as written
		GODEBUG=inittrace=1 ${p#*=} 2>&1 >/dev/null | awk '$1=="init" { if (seen[$2]++) exit; print }' |
			tee -a "$W/$name.lines" | awk '{ s+=$5; n++ } END { printf "%.3f %d\n", s, n }' >>"$W/$name.totals"
	done
done
for p in "$@"; do
	name=${p%%=*}
	sort -n "$W/$name.totals" | awk -v k="$name" '{a[NR]=$1; n=$2} END {
		printf "%-12s %3d packages  per start: min %.3f  q1 %.3f  median %.3f  q3 %.3f ms", k, n, a[1], a[int((NR+3)/4)], a[int((NR+1)/2)], a[int((3*NR+3)/4)] }'
	awk '{ if (!($2 in m) || $5 < m[$2]) m[$2] = $5 } END { for (x in m) s += m[x]; printf "  least per package, summed: %.3f ms\n", s }' "$W/$name.lines"
done
