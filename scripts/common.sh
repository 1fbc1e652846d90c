# shellcheck shell=bash
# Shared settings for the scripts in this directory (sourced, not run).
# Everything the CI scripts create lives under $PCOCC_CI_DIR.
PCOCC_CI_DIR=${PCOCC_CI_DIR:-/var/tmp/pcocc-ci}
PCOCC_TEST_USER=${PCOCC_TEST_USER:-tester}
export PCOCC_CI_DIR PCOCC_TEST_USER

log() { printf '%s [%s] %s\n' "$(date +%H:%M:%S)" "${0##*/}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# wait_for TIMEOUT_S DESCRIPTION CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local timeout=$1 what=$2; shift 2
	local deadline=$(( $(date +%s%N) / 1000000 + timeout * 1000 ))
	until "$@" >/dev/null 2>&1; do
		if (( $(date +%s%N) / 1000000 > deadline )); then
			log "timed out after ${timeout}s waiting for $what"
			return 1
		fi
		sleep 0.1
	done
}

need_root() { [[ $(id -u) == 0 ]] || die "run this as root (for example: sudo bash $0)"; }
