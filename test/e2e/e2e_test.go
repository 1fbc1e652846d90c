// Package e2e runs the end-to-end scripts in testdata/*.txtar against the
// built pcocc binary, as an unprivileged user, with
// github.com/rogpeppe/go-internal/testscript.
//
// Run it with `make test-e2e` (as root: it builds, makes the fixtures, and runs
// the tests as the user "tester"), or by hand as an unprivileged user:
//
//	make build && bash test/fixtures/make-images.sh /tmp/fixtures
//	PCOCC_BIN_DIR=$PWD/bin PCOCC_FIXTURES=/tmp/fixtures go test ./test/e2e
//
// Environment read by the harness:
//
//	PCOCC_BIN_DIR      directory holding pcocc and pcocc-rs (required)
//	PCOCC_FIXTURES     directory made by test/fixtures/make-images.sh ([fixtures])
//	PCOCC_E2E_TESTDATA directory of the scripts (default: testdata)
//	SLURM_CONF, DOCKER_HOST, CONTAINERS_CONF, PCOCC_CI_REGISTRY, PCOCC_TEST_ETCD,
//	PCOCC_TEST_ETCD_PASSWORD_FILE (root's: unreadable by the tests),
//	PCOCC_CI_FABRIC, PCOCC_CI_FABRIC_LOGIN, PCOCC_CI_FABRIC_NODES
//	                   passed to the scripts (scripts/services.sh writes them
//	                   to /var/tmp/pcocc-ci/env.sh)
//
// What a script sees: PATH starts with $PCOCC_BIN_DIR; HOME=$WORK/home (empty,
// fresh for every script); no XDG_* variable; PCOCC_SYSTEM_CONF_DIR=$WORK/etc-pcocc
// (empty) so that the host's /etc/pcocc never leaks in; FIXTURES; USER and
// LOGNAME of the caller. Conditions, besides testscript's own ([exec:PROG],
// [short], [net], ...):
//
//	[fixtures]  $FIXTURES is set and exists
//	[userns]    unprivileged user+mount namespaces work (unshare -Urm)
//	[fuse]      /dev/fuse is usable by the caller
//	[slurm]     `srun -N1 true` works with $SLURM_CONF
//	[fabric]    [slurm] and its nodes are on a network fabric ($PCOCC_CI_FABRIC=1):
//	            `srun -N2` runs on two hosts with distinct names and addresses
//	[etcd]      the first endpoint of $PCOCC_TEST_ETCD answers /health
//	[docker]    the daemon at $DOCKER_HOST answers /_ping
//	[registry]  $PCOCC_CI_REGISTRY accepts connections
//
// Commands besides testscript's own: legacy-* write and check repositories
// in the original pcocc's format (legacy_cmds_test.go).
//
// Name scripts after the area they test: import_*.txtar, run_*.txtar,
// config_*.txtar, slurm_*.txtar, ...
package e2e

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/pcocc/pcocc/internal/testutil"
)

// -testwork (keep the work directories) is testscript's own flag.
var update = flag.Bool("update", false, "update the scripts' expected output (cmp with a file of the archive)")

func TestMain(m *testing.M) {
	flag.Parse()
	harnessMissing = missingHarness()
	os.Exit(m.Run())
}

// harnessMissing says why the tests cannot run here ("" when they can):
// `go test ./...` from a fresh checkout, or as root, skips them with it.
var harnessMissing string

func missingHarness() string {
	const how = "run them with 'make test-e2e' (as root it runs them as the user \"tester\"), or as a normal user:\n" +
		"  make build && bash test/fixtures/make-images.sh /tmp/fixtures\n" +
		"  PCOCC_BIN_DIR=$PWD/bin PCOCC_FIXTURES=/tmp/fixtures go test ./test/e2e"
	if os.Geteuid() == 0 {
		return "end-to-end tests do not run as root (pcocc's users are unprivileged): " + how
	}
	dir := testutil.BinDir()
	if dir == "" {
		return "PCOCC_BIN_DIR is not set: " + how
	}
	if _, err := os.Stat(filepath.Join(dir, "pcocc")); err != nil {
		return fmt.Sprintf("no pcocc binary in PCOCC_BIN_DIR (%v): %s", err, how)
	}
	return ""
}

// requireHarness skips a test when the built binary is not there or the
// caller is root, saying how to run it.
func requireHarness(t *testing.T) {
	t.Helper()
	if harnessMissing != "" {
		t.Skip(harnessMissing)
	}
}

func TestScripts(t *testing.T) {
	requireHarness(t)
	binDir := testutil.BinDir()
	dir := os.Getenv("PCOCC_E2E_TESTDATA")
	if dir == "" {
		dir = "testdata"
	}
	fixtures := testutil.Fixtures()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 dir,
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Cmds:                legacyCmds,
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, "home")
			sysconf := filepath.Join(env.WorkDir, "etc-pcocc")
			for _, d := range []string{home, sysconf} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return err
				}
			}
			env.Setenv("PATH", binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
			env.Setenv("HOME", home)
			env.Setenv("PCOCC_SYSTEM_CONF_DIR", sysconf)
			env.Setenv("USER", u.Username)
			env.Setenv("LOGNAME", u.Username)
			env.Setenv("FIXTURES", fixtures)
			for _, name := range passedEnv {
				if v := os.Getenv(name); v != "" {
					env.Setenv(name, v)
				}
			}
			return nil
		},
		Condition: func(cond string) (bool, error) {
			probe, ok := conditions[cond]
			if !ok {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			return probe(), nil
		},
	})
}

// passedEnv: the CI's environment (scripts/services.sh's env.sh) that the
// scripts see.
var passedEnv = []string{"SLURM_CONF", "DOCKER_HOST", "CONTAINERS_CONF", "PCOCC_CI_REGISTRY",
	"PCOCC_TEST_ETCD", "PCOCC_TEST_ETCD_PASSWORD_FILE",
	"PCOCC_CI_FABRIC", "PCOCC_CI_FABRIC_LOGIN", "PCOCC_CI_FABRIC_NODES"}

// slurmUp: the [slurm] condition.
var slurmUp = sync.OnceValue(func() bool {
	if os.Getenv("SLURM_CONF") == "" {
		return false
	}
	return run(60*time.Second, "srun", "-N1", "-n1", "true") == nil
})

// conditions are probed for real, once per test binary run.
var conditions = map[string]func() bool{
	"fixtures": sync.OnceValue(func() bool {
		d := testutil.Fixtures()
		fi, err := os.Stat(d)
		return d != "" && err == nil && fi.IsDir()
	}),
	"userns": sync.OnceValue(func() bool { return testutil.UsernsWorks() == nil }),
	"fuse":   sync.OnceValue(func() bool { return testutil.FUSEUsable() == nil }),
	"slurm":  slurmUp,
	"fabric": sync.OnceValue(fabricWorks),
	"etcd":   sync.OnceValue(etcdHealthy),
	"docker": sync.OnceValue(func() bool {
		sock, ok := strings.CutPrefix(os.Getenv("DOCKER_HOST"), "unix://")
		if !ok {
			return false
		}
		c := &http.Client{
			Timeout: 5 * time.Second,
			Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", sock)
			}},
		}
		resp, err := c.Get("http://docker/_ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}),
	"registry": sync.OnceValue(func() bool {
		addr := os.Getenv("PCOCC_CI_REGISTRY")
		if addr == "" {
			return false
		}
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}),
}

func run(timeout time.Duration, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return exec.CommandContext(ctx, name, args...).Run()
}
