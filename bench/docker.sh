#!/usr/bin/env bash
# bench/docker.sh: the cost of the Docker environment (pcocc docker), as the
# calling user, under TCG (forced: pcocc and the VM booted by hand use the
# same accelerator). Prints a markdown table.
#
# Rows:
#   VM by hand to `docker info`     the Docker guest booted with qemu and a
#                                   seed of its own, polled over ssh (5 s
#                                   steps: scripts/vm-guest/docker-build.sh)
#   pcocc docker alloc to `docker version`
#                                   docker alloc -E 'docker version'
#   docker build, in the env        a build with COPY and RUN of busybox in
#                                   the environment (its own allocation time
#                                   not counted)
#   docker build, host dockerd      the same build on $DOCKER_HOST (skipped
#                                   when no engine answers there)
# Needs $PCOCC_VM_IMAGES/docker (scripts/vm-images.sh docker) and
# $PCOCC_FIXTURES/busybox.docker.tar (test/fixtures/make-images.sh).
# RUNS (default 1: each run boots a VM) keeps the median.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
G=${PCOCC_VM_IMAGES:?set PCOCC_VM_IMAGES (scripts/vm-images.sh docker builds the guest there)}/docker
BB=${PCOCC_FIXTURES:?set PCOCC_FIXTURES (test/fixtures/make-images.sh)}/busybox.docker.tar
BIN=$(cd "${PCOCC_BIN_DIR:-bin}" && pwd)
RUNS=${RUNS:-1}
HOST_DOCKER=${DOCKER_HOST:-}
unset DOCKER_HOST
W=$(mktemp -d /tmp/pcocc-dockerbench-XXXXXX)
CLEAN=("$W")
trap 'rm -rf "${CLEAN[@]}"' EXIT
export XDG_RUNTIME_DIR=$W/rt PCOCC_CONFIG_PATH=$W/conf PCOCC_VM_ACCEL=tcg
mkdir -m 0700 "$XDG_RUNTIME_DIR" && mkdir "$PCOCC_CONFIG_PATH"
export HOME=$W/home XDG_DATA_HOME=$W/data PATH=$BIN:$PATH
pcocc image import -q "$G/disk.qcow2" dockerdisk
printf 'docker:\n  image: user:dockerdisk\n  kernel: %s/vmlinuz\n  initrd: %s/initrd.img\n' "$G" "$G" >"$PCOCC_CONFIG_PATH/templates.yaml"
mkdir "$W/ctx"
printf 'FROM bb:latest\nCOPY data /data\nRUN wc -c /data >/size && echo built\n' >"$W/ctx/Dockerfile"
head -c 16M /dev/urandom >"$W/ctx/data"
# build.sh: loads busybox as bb:latest, prints the seconds of the build.
cat >"$W/build.sh" <<EOT
docker tag "\$(docker load -qi $BB | awk '{print \$NF}')" bb:latest
t0=\$(date +%s.%N)
docker build -q --no-cache --network none -t pcocc-bench . >/dev/null
echo "\$(date +%s.%N) - \$t0" | bc -l
EOT

now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
row() { printf '| %s | %.1f s |\n' "$1" "$(median "${@:2}")"; }

. scripts/vm-guest/debian-build.sh
. scripts/vm-guest/docker-build.sh
hand=() alloc=() envbuild=() hostbuild=()
for _ in $(seq "$RUNS"); do
	d=$W/hand
	rm -rf "$d" && mkdir "$d" && cp "$G"/{vmlinuz,initrd.img,disk.qcow2} "$d/"
	t0=$(now); docker_check "$d" >/dev/null 2>&1; hand+=("$(echo "$(now) - $t0" | bc -l)")
	t0=$(now); pcocc docker alloc -E 'docker version' >/dev/null 2>&1; alloc+=("$(echo "$(now) - $t0" | bc -l)")
	# The build's own time, measured inside the environment.
	envbuild+=("$(cd "$W/ctx" && pcocc docker alloc -E "bash $W/build.sh" 2>/dev/null | tail -1)")
	if [[ -n $HOST_DOCKER ]] && DOCKER_HOST=$HOST_DOCKER docker version >/dev/null 2>&1; then
		hostbuild+=("$(cd "$W/ctx" && DOCKER_HOST=$HOST_DOCKER bash "$W/build.sh" | tail -1)")
		DOCKER_HOST=$HOST_DOCKER docker rmi -f pcocc-bench bb:latest >/dev/null 2>&1 || true
	fi
done
echo "| Docker environment (TCG, runs: $RUNS, median) | time |"
echo "|---|---|"
row "VM by hand to \`docker info\`" "${hand[@]}"
row "pcocc docker alloc to \`docker version\` (and teardown)" "${alloc[@]}"
row "docker build (COPY 16 MiB, RUN), in the environment" "${envbuild[@]}"
((${#hostbuild[@]})) && row "docker build, same, host dockerd" "${hostbuild[@]}"
exit 0
