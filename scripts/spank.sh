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
echo "optional $out/pcocc_spank.so pcocc=${PCOCC_SPANK_HELPER:-$PCOCC_CI_DIR/e2e/bin/pcocc}" >"$conf.tmp"
chmod 0644 "$conf.tmp"
mv "$conf.tmp" "$conf"
log "SPANK plugin: $(cat "$conf")"
