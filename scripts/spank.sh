#!/usr/bin/env bash
# Builds the SPANK plugin (spank/) and lists it in the private plugstack of
# scripts/services.sh: plugstack.conf.d/pcocc.conf points slurmstepd, srun,
# sbatch and salloc at $PCOCC_CI_DIR/spank/pcocc_spank.so, with the helper
# binary that scripts/run-e2e.sh stages ($PCOCC_CI_DIR/e2e/bin/pcocc; Slurm
# reads the plugstack at every step, so the binary may come later). As root.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
need_root

out=$PCOCC_CI_DIR/spank
conf=$PCOCC_CI_DIR/slurm/plugstack.conf.d/pcocc.conf
make --no-print-directory -s -C spank all analyze test
install -d -m 0755 "$out" "$(dirname "$conf")"
install -m 0755 spank/pcocc_spank.so "$out/pcocc_spank.so"
bin=$(dirname "${PCOCC_SPANK_HELPER:-$PCOCC_CI_DIR/e2e/bin/pcocc}")
args="pcocc=$bin/pcocc"
# The VM path (srun --vm, docs/vm-slurm-admin.md) when services.sh runs etcd:
# its system configuration directory names that etcd (the nodes reach it at
# PCOCC_SPANK_ETCD_HOST), root's password file is etcd's.
if [[ -n ${PCOCC_SPANK_ETCD_HOST:-} ]]; then
	vmconf=$PCOCC_CI_DIR/vm-conf
	install -d -m 0755 "$vmconf"
	printf 'type: slurm\nsettings:\n  etcd-servers: [%s]\n  etcd-client-port: %s\n  etcd-protocol: http\n' \
		"$PCOCC_SPANK_ETCD_HOST" "$PCOCC_SPANK_ETCD_PORT" >"$vmconf/batch.yaml"
	# The reverse NAT forwards port 22 (the default) and the ports the
	# templates name: the tiny test guest's 8080 (ports: [8080]), which
	# test/e2e's TestVMSlurmFromLoginNode reaches from the login namespace
	# with pcocc nc.
	printf 'cluster:\n  type: ethernet\n  settings:\n    reverse-nat: {vm-port: 22, min-host-port: 42000, max-host-port: 42999}\n' \
		>"$vmconf/networks.yaml"
	chmod 0644 "$vmconf/batch.yaml" "$vmconf/networks.yaml"
	args+=" pcocc-vm=$bin/pcocc-vm etcd-password=$PCOCC_SPANK_ETCD_PASSWORD conf-dir=$vmconf"
fi
echo "optional $out/pcocc_spank.so $args" >"$conf.tmp"
chmod 0644 "$conf.tmp"
mv "$conf.tmp" "$conf"
log "SPANK plugin: $(cat "$conf")"
