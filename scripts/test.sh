#!/usr/bin/env bash
# THE test command (README, .ci/run), as root on Debian 12: installs what is
# needed, starts the services (the network fabric, munge, Slurm, etcd,
# dockerd, registry), builds the VM test guests (scripts/vm-images.sh), runs
# every test (`make lint`: go vet, staticcheck, gofmt; the unit tests; then
# the end-to-end tests as the unprivileged user "tester"), stops the services.
# Exit status: the tests'.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
need_root
export PATH=/usr/local/go/bin:$PATH

phases=()
phase() { # phase NAME CMD...: run CMD, remember how long it took
	local name=$1 t0 rc=0; shift
	t0=$(date +%s%N)
	"$@" || rc=$?
	local ms=$((($(date +%s%N) - t0) / 1000000))
	phases+=("$(printf '%-10s %4d.%d s  (exit %d)' "$name" $((ms / 1000)) $((ms % 1000 / 100)) "$rc")")
	return $rc
}
summary() {
	echo "---- scripts/test.sh phases ----"
	printf '%s\n' "${phases[@]}"
}

phase deps bash scripts/deps.sh
phase services bash scripts/services.sh start
trap 'bash scripts/services.sh stop || true; summary' EXIT
rc=0
# The VM tests' guests, cached between runs (keyed by their build script):
# the tiny one (seconds), the Debian one (about 3 minutes, debootstrap) and
# the Docker one (the Debian one plus docker.io), so that the ssh and Docker
# environment tests run. PCOCC_TEST_VM_IMAGES=tiny builds the tiny one
# only when the others are not cached yet (their tests then skip).
guests=(tiny)
for g in debian docker; do
	if [[ ${PCOCC_TEST_VM_IMAGES:-full} != tiny ]] || bash scripts/vm-images.sh --cached "$g"; then guests+=("$g"); fi
done
phase vm-images bash scripts/vm-images.sh "${guests[@]}" || rc=1
phase lint make --no-print-directory lint || rc=1
phase unit make --no-print-directory test-unit || rc=1
phase e2e make --no-print-directory test-e2e || rc=1
exit $rc
