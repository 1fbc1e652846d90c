# bench/large-pcocc.sh: sourced by bench/large.sh (which sets W, COPIES,
# SQFS, SMALL_SQFS, RUNS, drop, ms, min, skip). pcocc's own paths, as the
# unprivileged user $PCOCC_TEST_USER:
#
# start_table: `pcocc run IMG true` and a library-loading start (the image's
#   python3 importing 30 packages: about 440 modules and 60 shared
#   libraries), large image against small ones, per mount mode (START_MODES:
#   kernel, which is pcocc run as root, then auto sqfuse squashfuse_ll
#   unpack, and ch-run when installed), with the ratio large/small printed. Small images: busybox (the test fixture) for
#   `true`, and the large image's own layout without its copies (COPIES=0)
#   for python3, which busybox lacks.
# nodes_table: N node caches (directories standing for N nodes' disks) and
#   N concurrent first runs of the large image, per mode: time until all have
#   run `true`, bytes read and bytes written to the node caches.

U=$PCOCC_TEST_USER
THOME=$W/home
REPO=$THOME/.local/share/pcocc/images
FIXTURES=${FIXTURES:-$PCOCC_CI_DIR/fixtures}
START_RUNS=${START_RUNS:-$((10 * RUNS))}
FIRST_RUNS=${FIRST_RUNS:-$RUNS}
N=${N:-8}
# The library-loading start: stdlib, C extension modules and their libraries
# (ssl, sqlite3, lzma, ctypes...), and the image's Debian packages.
PYMODS='json, email.mime.multipart, http.client, xml.etree.ElementTree, sqlite3, ssl, decimal, asyncio, unittest, argparse, logging.handlers, csv, zipfile, tarfile, lzma, bz2, ctypes, multiprocessing, concurrent.futures, urllib.request, yaml, cryptography.x509, cryptography.hazmat.primitives.ciphers, pygments.lexers, idna, chardet, charset_normalizer, jwt, lark, gi'
PYCMD="/usr/bin/python3 -c 'import $PYMODS'"

as_user() {
	runuser -u "$U" -- env -i HOME="$THOME" USER="$U" PATH="$W/bin:/usr/bin:/bin" \
		XDG_RUNTIME_DIR="$W/xdg" "$@"
}
# as_root: pcocc run as root mounts the image with the kernel's squashfs, as
# the Slurm plugin does on each node; the user's repository all the same.
as_root() { env -i HOME="$THOME" PATH="$W/bin:/usr/bin:/bin" "$@"; }
# runner MODE: who runs MODE's starts.
runner() { if [[ $1 == kernel ]]; then echo as_root; else echo as_user; fi; }

# import_sqfs NAME SQFS: SQFS into the user's repository as NAME, unchanged
# (wrapped in a SIF, whose squashfs `pcocc image import` copies as it is).
import_sqfs() {
	[[ -f $REPO/images/$1/rootfs.sqfs ]] && return
	log "importing $2 as $1"
	rm -f "$W/import.sif"
	siftool new "$W/import.sif" >/dev/null
	siftool add "$W/import.sif" "$2" --datatype 4 --parttype 2 --partfs 1 --partarch 2 >/dev/null
	chmod 0644 "$W/import.sif"
	(cd "$W" && as_user pcocc image import -q "sif:$W/import.sif" "$1")
	rm -f "$W/import.sif"
}

pcocc_setup() {
	[[ $(stat -c %a /dev/fuse) == 666 ]] || die "/dev/fuse must be mode 0666 (chmod 0666 /dev/fuse)"
	command -v siftool >/dev/null || die "siftool is missing (Debian package siftool)"
	command -v hyperfine >/dev/null || die "hyperfine is missing"
	install -d -m 0755 "$W/bin"
	install -m 0755 bin/pcocc bin/pcocc-cli bin/pcocc-init "$W/bin/"
	install -d -o "$U" -m 0755 "$THOME" "$W/nodes"
	install -d -o "$U" -m 0700 "$W/xdg"
	LARGE=large-$IMAGE_VERSION-$COPIES SMALL=large-$IMAGE_VERSION-0
	import_sqfs "$LARGE" "$SQFS"
	import_sqfs "$SMALL" "$SMALL_SQFS"
	BUSYBOX=
	if [[ -f $FIXTURES/busybox.docker.tar ]]; then
		BUSYBOX=busybox
		[[ -f $REPO/images/busybox/rootfs.sqfs ]] ||
			(cd "$W" && as_user pcocc image import -q "docker-archive:$FIXTURES/busybox.docker.tar" busybox)
	else
		log "$FIXTURES/busybox.docker.tar is missing ('make fixtures'): the small image for true is $SMALL"
	fi
	if [[ " $MODES " == *" ch-run "* ]] && ! command -v ch-run >/dev/null; then
		log "ch-run is not installed: no ch-run row"
		MODES=${MODES/ch-run/}
	fi
}

# cmd_of MODE IMG PROG: the command line of one start (PROG: true or
# python), words as hyperfine -N and eval split them.
cmd_of() {
	local prog=/bin/true env
	[[ $3 == python ]] && prog=$PYCMD
	case $1 in
	kernel)
		echo "pcocc run $2 $prog"
		return
		;;
	ch-run)
		echo "ch-run $(readlink -f "$REPO/images/$2/rootfs.sqfs") -- $prog"
		return
		;;
	auto) env="env PCOCC_UNPACK_DIR=$W/nodes/warm-$2" ;;
	unpack) env="env PCOCC_SQUASHFS_MOUNT=unpack PCOCC_UNPACK_DIR=$W/nodes/warm-$2" ;;
	*) env="env PCOCC_SQUASHFS_MOUNT=$1" ;;
	esac
	echo "$env pcocc run $2 $prog"
}

MODES=${START_MODES:-kernel auto sqfuse squashfuse_ll unpack ch-run}
declare -A T # T[MODE|IMG|PROG|warm or first]: milliseconds
declare -A FELL # FELL[IMG]: why pcocc did not unpack IMG (a KEY.failed's text)

# fell_back DIR IMG: records in FELL an unpack into the node cache DIR that
# failed (pcocc then served the image with FUSE, with a warning), so that
# the table does not call a FUSE start an unpacked one. The likely cause on
# this image: an unpack may write 4 times the squashfs plus 256 MiB
# (internal/unpack Budget), and Python trees compress about 5 times.
fell_back() {
	local f
	for f in "$1"/*.failed; do
		[[ -f $f ]] && FELL[$2]=$(tail -n 1 "$f" | head -c 300)
	done
	return 0
}

# auto_choice IMG: the mode auto picks for IMG and why (from the plan).
auto_choice() {
	(cd "$W" && as_user env PCOCC_UNPACK_DIR="$W/nodes/warm-$1" pcocc run --dry-run "$1" /bin/true 2>/dev/null) |
		python3 -c 'import json, sys; m = json.load(sys.stdin).get("imageMount", {}); print(m.get("mode", "?") + ": " + m.get("reason", "?"))'
}

# warm_starts: every warm start in one hyperfine run (page cache warm, the
# node cache filled by the warm-up runs); the median of START_RUNS.
# (One hyperfine run per user: as the user, and as root for kernel.)
warm_starts() {
	local -a args_as_user=() args_as_root=()
	local m img r json
	for img in ${BUSYBOX:-} "$SMALL" "$LARGE"; do install -d -o "$U" -m 0700 "$W/nodes/warm-$img"; done
	for m in $MODES; do
		local -n args=args_$(runner "$m")
		for img in ${BUSYBOX:-$SMALL} "$LARGE"; do args+=(-n "$m|$img|true" "$(cmd_of "$m" "$img" true)"); done
		for img in "$SMALL" "$LARGE"; do args+=(-n "$m|$img|python" "$(cmd_of "$m" "$img" python)"); done
		unset -n args
	done
	log "warm starts: $START_RUNS runs each after 2 warm-up runs"
	for r in as_user as_root; do
		local -n args=args_$r
		((${#args[@]})) || continue
		json=$W/xdg/warm-$r.json
		(cd "$W" && $r hyperfine -N --style basic --warmup 2 --runs "$START_RUNS" --export-json "$json" "${args[@]}" >&2)
		unset -n args
		while read -r k v; do T[$k|warm]=$v; done < <(python3 -c '
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(r["command"], "%.1f" % (r["median"] * 1000))' "$json")
	done
	for img in ${BUSYBOX:-} "$SMALL" "$LARGE"; do fell_back "$W/nodes/warm-$img" "$img"; done
}

# first_starts: the first run on a node: page cache dropped, a new node cache
# (so unpack and auto unpack again); the least of FIRST_RUNS, through runuser.
first_starts() {
	local m img prog t best i
	log "first runs: the least of $FIRST_RUNS, page cache dropped before each"
	for m in $MODES; do
		for prog in true python; do
			for img in ${BUSYBOX:-$SMALL} "$SMALL" "$LARGE"; do
				[[ $prog == true && $img == "$SMALL" && -n $BUSYBOX ]] && continue
				[[ $prog == python && $img == "$BUSYBOX" ]] && continue
				best=
				for ((i = 0; i < FIRST_RUNS; i++)); do
					rm -rf "$W/nodes/first"
					install -d -o "$U" -m 0700 "$W/nodes/first"
					drop
					t=$(date +%s%N)
					(cd "$W" && eval "$(runner "$m") $(cmd_of "$m" "$img" "$prog" | sed "s|$W/nodes/warm-$img|$W/nodes/first|")") >/dev/null
					best=$(min "$(ms "$t")" "$best")
					fell_back "$W/nodes/first" "$img"
				done
				T[$m|$img|$prog|first]=$best
			done
		done
	done
	rm -rf "$W/nodes/first"
}

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# cell MODE IMG PROG WHEN: a time of the table, marked * where pcocc was
# to unpack IMG but served it with FUSE.
cell() {
	local v=${T[$1|$2|$3|$4]}
	[[ $1 == unpack || $1 == auto ]] && [[ -n ${FELL[$2]:-} ]] && v+="*"
	echo "$v"
}

start_table() {
	local m w name img small=${BUSYBOX:-$SMALL} a b c d
	warm_starts
	first_starts
	echo
	echo "Start, as $U (kernel: as root), milliseconds (warm: median of $START_RUNS; first run on a node: least of $FIRST_RUNS, page cache dropped, a new node cache)."
	echo "\`true\`: $small against $LARGE; python3 importing 30 packages: $SMALL against $LARGE."
	for img in $small "$SMALL" "$LARGE"; do echo "auto on $img: $(auto_choice "$img")."; done | sort -u
	echo
	echo "| path | $small true | $LARGE true | ratio | $SMALL python | $LARGE python | ratio |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	for m in $MODES; do
		for w in warm first; do
			case $m/$w in
			kernel/warm) name="kernel (pcocc run as root, as the Slurm plugin mounts), later runs" ;;
			kernel/first) name="kernel (as root), first run on a node (page cache cold)" ;;
			*/warm) name="$m, later runs (page cache warm)" ;;
			unpack/first | auto/first) name="$m, first run on a node (unpacks where $m does)" ;;
			*) name="$m, first run on a node (page cache cold)" ;;
			esac
			a=$(cell "$m" "$small" true "$w") b=$(cell "$m" "$LARGE" true "$w")
			c=$(cell "$m" "$SMALL" python "$w") d=$(cell "$m" "$LARGE" python "$w")
			echo "| $name | $a | $b | $(ratio "${b%\*}" "${a%\*}") | $c | $d | $(ratio "${d%\*}" "${c%\*}") |"
		done
	done
	for img in "${!FELL[@]}"; do
		echo
		echo "\\* $img was not unpacked (pcocc served it with FUSE, after a warning): ${FELL[$img]}"
	done
}
# node_run I MODE: one simulated node's first run of the large image, in the
# background: `pcocc run LARGE /bin/true` under a bash that then writes its
# end time and its /proc/PID/io. A process's io counters include those of
# the children it reaped, so the wrapper's are the whole run's: pcocc, the
# FUSE server (pcocc itself, or a child for squashfuse_ll), the unpacker,
# the container's init and program. Only builtins run after pcocc, so
# nothing else is counted but the wrapper's own start.
node_run() {
	local d=$W/nodes/sim/node$1
	install -d -o "$U" -m 0700 "$d" "$d.out"
	cd "$W" && as_user env PCOCC_SQUASHFS_MOUNT="$2" PCOCC_UNPACK_DIR="$d" bash -c '
		pcocc run "$1" /bin/true || echo "failed: $?" >"$2/failed"
		echo "${EPOCHREALTIME/./}" >"$2/end"
		while read -r k v; do echo "$k $v"; done </proc/$$/io >"$2/io"' \
		node "$LARGE" "$d.out" &
}

# node_row MODE: N first runs at once on N node caches, page cache dropped
# before: the time until all have run, the bytes the runs read (rchar:
# every read(2), whether the page cache or the disk served it, as each node
# would have read it from the shared file system) and wrote, and the disk
# the node caches hold after.
node_row() {
	local i t0 first="" last=0 rchar=0 wchar=0 disk=0 v mark=""
	rm -rf "$W/nodes/sim"
	install -d -m 0755 "$W/nodes/sim"
	drop
	t0=$(($(date +%s%N) / 1000))
	for ((i = 1; i <= N; i++)); do node_run "$i" "$1"; done
	wait
	for ((i = 1; i <= N; i++)); do
		[[ -f $W/nodes/sim/node$i.out/failed ]] && die "node $i: pcocc run failed in mode $1"
		v=$(($(<"$W/nodes/sim/node$i.out/end") - t0))
		first=$(min "$v" "$first") last=$((v > last ? v : last))
		rchar=$((rchar + $(awk '$1 == "rchar:" { print $2 }' "$W/nodes/sim/node$i.out/io")))
		wchar=$((wchar + $(awk '$1 == "wchar:" { print $2 }' "$W/nodes/sim/node$i.out/io")))
		disk=$((disk + $(du -sB1 "$W/nodes/sim/node$i" | cut -f1)))
		unset "FELL[$LARGE]"
		fell_back "$W/nodes/sim/node$i" "$LARGE"
		[[ -n ${FELL[$LARGE]:-} ]] && mark="*" NODE_NOTE=${FELL[$LARGE]}
	done
	rm -rf "$W/nodes/sim"
	echo "| $1$mark | $((last / 1000)) | $((first / 1000)) | $(mib "$rchar") | $(mib $((rchar / N))) | $(mib "$wchar") | $(mib "$disk") |"
}

nodes_table() {
	local m need avail
	# Each node cache may hold what an unpack may write (internal/unpack
	# Budget): refuse to start rather than fill the disk halfway.
	need=$((N * (4 * SIZE + (256 << 20)) >> 20))
	avail=$(($(df -B1 --output=avail "$W" | tail -1) >> 20))
	((avail >= need)) || die "the $N node caches may need $need MiB, $W's file system has $avail MiB free: set N lower"
	echo
	echo "N=$N simulated nodes on this machine, $LARGE ($((SIZE >> 20)) MiB of squashfs): N concurrent first runs of \`pcocc run $LARGE /bin/true\`, each with its own node cache, page cache dropped before."
	echo
	echo "| mode | all started, ms | first started, ms | read MiB (rchar), all | read MiB per node | written MiB (wchar), all | node caches' disk MiB |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	NODE_NOTE=
	for m in ${NODE_MODES:-unpack sqfuse}; do node_row "$m"; done
	[[ -z $NODE_NOTE ]] || printf '\n\\* not unpacked (pcocc served it with FUSE, after a warning): %s\n' "$NODE_NOTE"
}
