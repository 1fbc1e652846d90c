#!/usr/bin/env bash
# Runs the end-to-end tests (test/e2e) against bin/pcocc, as an unprivileged
# user, after making the fixture images. Called by `make test-e2e`; extra
# arguments go to the test binary (e.g. -test.run 'TestScripts/import_').
#
# As root: stages bin/, the test binary, the scripts and the fixtures under
# $PCOCC_CI_DIR (/var/tmp/pcocc-ci), readable by everyone (the checkout may
# be private to root), and runs the tests as $PCOCC_TEST_USER with runuser.
# As a normal user: fixtures in test/fixtures/cache, plain `go test`.
# Sources $PCOCC_CI_DIR/env.sh (from scripts/services.sh) when present.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/common.sh
export PATH=/usr/local/go/bin:$PATH

fixtures_only=false
if [[ ${1:-} == --fixtures-only ]]; then fixtures_only=true; shift; fi
[[ -f $PCOCC_CI_DIR/env.sh ]] && . "$PCOCC_CI_DIR/env.sh"
[[ -x bin/pcocc ]] || $fixtures_only || die "bin/pcocc is missing: run 'make build' first"

if [[ $(id -u) != 0 ]]; then
	fixtures=$PWD/test/fixtures/cache
	bash test/fixtures/make-images.sh "$fixtures"
	$fixtures_only && exit 0
	PCOCC_VM_IMAGES=${PCOCC_VM_IMAGES:-$PCOCC_CI_DIR/vm-images} \
		PCOCC_BIN_DIR=$PWD/bin PCOCC_FIXTURES=$fixtures exec go test -buildvcs=false -count=1 -v ./test/e2e "$@"
fi

id "$PCOCC_TEST_USER" >/dev/null 2>&1 || die "user $PCOCC_TEST_USER is missing: run scripts/deps.sh"
# PCOCC_E2E_DIR: where to stage (parallel runs from several checkouts each need their own).
E=${PCOCC_E2E_DIR:-$PCOCC_CI_DIR/e2e}
fixtures=$PCOCC_CI_DIR/fixtures
install -d -m 0755 "$PCOCC_CI_DIR" "$E"
bash test/fixtures/make-images.sh "$fixtures"
# The Debian image (debootstrap, cached) for the MPI/module tests; not fatal:
# the scripts that need it say so.
if [[ -f test/fixtures/debian-image.sh ]]; then
	bash test/fixtures/debian-image.sh "$fixtures" || log "warning: test/fixtures/debian-image.sh failed"
fi
$fixtures_only && exit 0

rm -rf "${E:?}/bin" "$E/testdata" "$E/e2e.test" "$E/runtime.test" "$E/sqfuse.test" "$E/vmnet.test" "$E/vmclient.test" "$E/vmcli.test" "$E/user-guide.md"
install -d -m 0755 "$E/bin"
install -m 0755 bin/pcocc bin/pcocc-cli bin/pcocc-init bin/pcocc-vm "$E/bin/"
ln -s pcocc "$E/bin/pcocc-rs"
install -m 0755 contrib/ccc_mprun "$E/bin/ccc_mprun" # slurm_ccc_mprun.txtar
cp -r test/e2e/testdata "$E/testdata"
cp docs/user-guide.md "$E/user-guide.md"   # its examples are run (guide_test.go)
go test -buildvcs=false -c -o "$E/e2e.test" ./test/e2e
# The runtime package's tests launch real containers and skip as root: run
# them as the user too.
go test -buildvcs=false -c -o "$E/runtime.test" ./internal/runtime
# sqfuse's mounts of a directory go through fusermount3 for a user (mount(2)
# as root, which the unit tests run as): its mount tests as the user too.
go test -buildvcs=false -c -o "$E/sqfuse.test" ./internal/sqfuse
# The VM network's and the SSH client's tests start real namespaces,
# dnsmasq, slirp4netns and sshd: as the user too.
go test -buildvcs=false -c -o "$E/vmnet.test" ./internal/vmnet
go test -buildvcs=false -c -o "$E/vmclient.test" ./internal/vmclient
go test -buildvcs=false -c -o "$E/vmcli.test" ./internal/vmcli
# -xdev: never into a file system mounted below (a chroot's /proc left by a
# benchmark there would have its host files made world-readable).
find "$E" -xdev -exec chmod a+rX {} +

vars=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
	HOME="$(getent passwd "$PCOCC_TEST_USER" | cut -d: -f6)"
	USER="$PCOCC_TEST_USER" LOGNAME="$PCOCC_TEST_USER"
	PCOCC_BIN_DIR="$E/bin" PCOCC_FIXTURES="$fixtures" PCOCC_E2E_TESTDATA="$E/testdata"
	PCOCC_GUIDE="$E/user-guide.md"
	# The VM tests' guests (scripts/vm-images.sh; a test skips without them).
	PCOCC_VM_IMAGES="${PCOCC_VM_IMAGES:-$PCOCC_CI_DIR/vm-images}")
for v in SLURM_CONF DOCKER_HOST CONTAINERS_CONF PCOCC_CI_REGISTRY PCOCC_TEST_ETCD \
	PCOCC_TEST_ETCD_PASSWORD_FILE PCOCC_CI_FABRIC PCOCC_CI_FABRIC_LOGIN PCOCC_CI_FABRIC_NODES; do
	[[ -n ${!v:-} ]] && vars+=("$v=${!v}")
done
checkout=$PWD
cd "$E"
rc=0
# PCOCC_E2E_SKIP_RUNTIME=1: only the end-to-end scripts (a quicker loop while developing).
if [[ ${PCOCC_E2E_SKIP_RUNTIME:-} != 1 ]]; then
# Three passes: the default (auto: these small images are unpacked in a
# node-local cache, checked to be used), then each FUSE server.
unpacked=$(mktemp -d /var/tmp/pcocc-unpack-XXXXXX)
chown "$PCOCC_TEST_USER" "$unpacked"
log "running the runtime package's tests as $PCOCC_TEST_USER (images unpacked)"
runuser -u "$PCOCC_TEST_USER" -- env -i "${vars[@]}" PCOCC_UNPACK_DIR="$unpacked/cache" \
	./runtime.test -test.v -test.count=1 -test.timeout=20m || rc=1
[[ -n $(ls -A "$unpacked/cache" 2>/dev/null) ]] || { log "error: nothing was unpacked in $unpacked/cache"; rc=1; }
runuser -u "$PCOCC_TEST_USER" -- chmod -R u+w "$unpacked" && rm -rf "$unpacked"
log "sqfuse's mount and request-loop tests as $PCOCC_TEST_USER (fusermount3)"
runuser -u "$PCOCC_TEST_USER" -- env -i "${vars[@]}" ./sqfuse.test -test.count=1 -test.run 'TestMount|TestLoop' || rc=1
log "again with pcocc's FUSE server, sqfuse"
runuser -u "$PCOCC_TEST_USER" -- env -i "${vars[@]}" PCOCC_SQUASHFS_MOUNT=sqfuse PCOCC_TEST_CONCURRENT_ROUNDS=20 ./runtime.test -test.count=1 -test.timeout=20m || rc=1
log "again with squashfuse_ll as the FUSE server"
runuser -u "$PCOCC_TEST_USER" -- env -i "${vars[@]}" PCOCC_SQUASHFS_MOUNT=squashfuse_ll PCOCC_TEST_CONCURRENT_ROUNDS=20 ./runtime.test -test.count=1 -test.timeout=20m || rc=1
fi
# PCOCC_E2E_SKIP_VMNET=1: not the VM network and SSH client tests.
if [[ ${PCOCC_E2E_SKIP_VMNET:-} != 1 ]]; then
	log "running the VM network's tests as $PCOCC_TEST_USER, and as root those between two users"
	runuser -u "$PCOCC_TEST_USER" -- env -i "${vars[@]}" ./vmnet.test -test.count=1 -test.timeout=5m || rc=1
	./vmnet.test -test.count=1 -test.timeout=5m -test.run '^TestOtherUser$' || rc=1
	if sshd=$(bash "$checkout/test/fixtures/sshd.sh" "$PCOCC_CI_DIR/sshd"); then
		log "running the SSH client's tests, and those of pcocc ssh/scp/exec, as $PCOCC_TEST_USER (sshd: $sshd)"
		runuser -u "$PCOCC_TEST_USER" -- env -i "${vars[@]}" PCOCC_TEST_SSHD="$sshd" \
			./vmclient.test -test.count=1 -test.timeout=5m || rc=1
		runuser -u "$PCOCC_TEST_USER" -- env -i "${vars[@]}" PCOCC_TEST_SSHD="$sshd" \
			./vmcli.test -test.count=1 -test.timeout=5m || rc=1
	else
		log "error: no sshd for the SSH client's tests (test/fixtures/sshd.sh)"; rc=1
	fi
fi
# slurmd deaths during this run (scripts/slurmd-keep.sh writes them down and
# starts slurmd again): printed at the end.
exits=$PCOCC_CI_DIR/slurm/log/slurmd-exits.log
exits0=0
[[ ! -f $exits ]] || exits0=$(wc -l <"$exits")
log "running the end-to-end tests as $PCOCC_TEST_USER"
runuser -u "$PCOCC_TEST_USER" -- env -i "${vars[@]}" ./e2e.test -test.v -test.count=1 -test.timeout=45m -test.parallel=2 "$@" || rc=1
# Root's tasks under srun --ctr (as root, which is the case to test): with
# the whole suite, or PCOCC_E2E_ROOT=1; only through the staging directory
# that the plugin runs (scripts/spank.sh).
if [[ $# == 0 || ${PCOCC_E2E_ROOT:-} == 1 ]]; then
	# the VM path's root side (no Slurm: its own netns nodes and etcd)
	log "running test/root/vmsetup.sh as root"
	timeout 300 bash "$checkout/test/root/vmsetup.sh" "$E/bin" || rc=1
	if [[ $E != "$PCOCC_CI_DIR/e2e" ]]; then
		log "skipping test/root/slurm_root.sh: the plugin runs $PCOCC_CI_DIR/e2e/bin/pcocc, not $E/bin/pcocc"
	elif ! timeout 60 srun -N1 true >/dev/null 2>&1; then
		log "skipping test/root/slurm_root.sh: no Slurm (scripts/services.sh start)"
	else
		log "running test/root/slurm_root.sh as root"
		bash "$checkout/test/root/slurm_root.sh" "$E/bin" "$fixtures" || rc=1
		log "running test/root/slurm_kernel.sh as root"
		bash "$checkout/test/root/slurm_kernel.sh" "$E/bin" "$fixtures" \
			"$PCOCC_CI_DIR/slurm/plugstack.conf.d/pcocc.conf" || rc=1
		log "running test/root/slurm_vm.sh as root"
		bash "$checkout/test/root/slurm_vm.sh" "$PCOCC_CI_DIR/slurm/plugstack.conf.d/pcocc.conf" || rc=1
		log "running test/root/slurm_vm_cluster.sh as root"
		timeout 600 bash "$checkout/test/root/slurm_vm_cluster.sh" "$E/bin" "${PCOCC_VM_IMAGES:-$PCOCC_CI_DIR/vm-images}" \
			"$PCOCC_CI_DIR/slurm/plugstack.conf.d/pcocc.conf" || rc=1
	fi
fi
# The container scripts again with pcocc installed under /tmp, which the
# container init covers with its scratch tmpfs (a checkout built in /tmp, the
# user guide's flow). PCOCC_E2E_TMP_RUN: the -test.run pattern of this pass
# (default: those scripts when no argument chose tests; "" skips it).
tmpdefault='TestScripts/(run_|template_|module_)'
[[ $# == 0 ]] || tmpdefault=
tmprun=${PCOCC_E2E_TMP_RUN-$tmpdefault}
if [[ -n $tmprun ]]; then
	tmpbin=$(mktemp -d /tmp/pcocc-e2e-bin-XXXXXX)
	install -m 0755 "$E"/bin/pcocc "$E"/bin/pcocc-cli "$E"/bin/pcocc-init "$E"/bin/pcocc-vm "$tmpbin/"
	ln -s pcocc "$tmpbin/pcocc-rs"
	chmod 0755 "$tmpbin"
	log "again with pcocc installed in $tmpbin: $tmprun"
	runuser -u "$PCOCC_TEST_USER" -- env -i "${vars[@]}" PCOCC_BIN_DIR="$tmpbin" \
		./e2e.test -test.count=1 -test.timeout=20m -test.run "$tmprun" || rc=1
	rm -rf "$tmpbin"
fi
if [[ -f $exits ]] && (($(wc -l <"$exits") > exits0)); then
	log "WARNING: slurmd died during the tests (started again each time):"
	tail -n +$((exits0 + 1)) "$exits" >&2
fi
exit $rc
