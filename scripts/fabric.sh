# shellcheck shell=bash
# The CI's network fabric, sourced by scripts/services.sh (needs $I, the
# instance, and log): one bridge in the root namespace (the login node, where
# slurmctld, etcd and the tests run) and one network namespace per Slurm
# node, joined to the bridge by a veth. The nodes' slurmd run in their
# namespace with nsenter (not `ip netns exec`, which remounts /sys and hides
# the cgroup mounts slurmd needs; MACHINE.md §5) and their own hostname.
FAB_NET=10.$((90 + I)).0
FAB_ADDR=$FAB_NET.1
FAB_BRIDGE=pcoccfab$I
FAB_SFX=
FAB_NAME_PREFIX=
if ((I)); then FAB_SFX=-$I; FAB_NAME_PREFIX=pcocc-$I-; fi
FAB_LOGIN=${FAB_NAME_PREFIX:-pcocc-}login
FAB_HOSTS_BEGIN="# BEGIN pcocc-ci fabric $I (scripts/services.sh)"
FAB_HOSTS_END="# END pcocc-ci fabric $I"
FABRIC=0  # 1 once fabric_up succeeded

fab_netns() { echo "pcocc-$1$FAB_SFX"; }               # node name -> namespace
fab_veth() { echo "pcoccf$I-$1"; }                       # root side of its veth
fab_addr() { echo "$FAB_NET.1${1#n}"; }                  # n1 -> 10.90.0.11
fab_host() { echo "$FAB_NAME_PREFIX$1"; }                # its name in /etc/hosts

# fab_in NODE CMD...: CMD in NODE's network namespace, with the host's mounts.
fab_in() { local n=$1; shift; nsenter --net="/run/netns/$(fab_netns "$n")" "$@"; }

# fab_hosts_write [LINES]: replace this instance's block of /etc/hosts (none
# without LINES). In place: /etc/hosts may be a bind mount.
fab_hosts_write() {
	local kept
	kept=$(awk -v b="$FAB_HOSTS_BEGIN" -v e="$FAB_HOSTS_END" \
		'$0 == b {skip = 1} !skip {print} $0 == e {skip = 0}' /etc/hosts)
	{
		printf '%s\n' "$kept"
		[[ -z ${1:-} ]] || printf '%s\n%s%s\n' "$FAB_HOSTS_BEGIN" "$1" "$FAB_HOSTS_END"
	} >/etc/hosts.pcocc-tmp
	cat /etc/hosts.pcocc-tmp >/etc/hosts
	rm -f /etc/hosts.pcocc-tmp
}

# fabric_up NODE...: idempotent; on failure, undoes what it made and returns 1.
fabric_up() {
	local n out hosts
	if ! out=$(fabric_make "$@" 2>&1); then
		log "no network fabric (${out//$'\n'/; }): slurmd nodes on localhost"
		fabric_down "$@" >/dev/null 2>&1 || true
		return 1
	fi
	hosts="$FAB_ADDR $FAB_LOGIN"$'\n'
	for n in "$@"; do hosts+="$(fab_addr "$n") $(fab_host "$n")"$'\n'; done
	fab_hosts_write "$hosts"
	FABRIC=1
	log "fabric up: $FAB_BRIDGE $FAB_ADDR/24, nodes $*"
}

# fabric_make NODE...: (errexit does not hold where the caller tests the
# status: every step says `|| return`)
fabric_make() {
	local n ns veth
	ip link show "$FAB_BRIDGE" >/dev/null 2>&1 || ip link add "$FAB_BRIDGE" type bridge || return
	ip addr replace "$FAB_ADDR/24" dev "$FAB_BRIDGE" || return
	ip link set "$FAB_BRIDGE" up || return
	for n in "$@"; do
		ns=$(fab_netns "$n") veth=$(fab_veth "$n")
		[[ -e /run/netns/$ns ]] || ip netns add "$ns" || return
		ip link show "$veth" >/dev/null 2>&1 ||
			ip link add "$veth" type veth peer name eth0 netns "$ns" || return
		ip link set "$veth" master "$FAB_BRIDGE" up || return
		ip -n "$ns" link set lo up || return
		ip -n "$ns" addr replace "$(fab_addr "$n")/24" dev eth0 || return
		ip -n "$ns" link set eth0 up || return
	done
}

# fabric_down NODE...: removes what fabric_up made (a namespace that still has
# processes lives on, nameless, until they end).
fabric_down() {
	local n
	for n in "$@"; do
		ip link del "$(fab_veth "$n")" 2>/dev/null || true
		[[ ! -e /run/netns/$(fab_netns "$n") ]] || ip netns del "$(fab_netns "$n")"
	done
	ip link del "$FAB_BRIDGE" 2>/dev/null || true
	fab_hosts_write
}
