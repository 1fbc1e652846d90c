package main

import (
	"os/exec"
	"strings"
	"testing"
)

// launcherOff are packages the launcher (bin/pcocc, built with the tag
// pcocc_launcher) must not link: each linked package is initialised at
// every start, and the launcher starts at every `pcocc run`. They belong
// to the full program, pcocc-cli, which the launcher starts for the
// commands and the launches that need them (internal/cli/launcher.go).
var launcherOff = []string{
	"github.com/hanwen/go-fuse/v2",
	"github.com/klauspost/compress",
	"github.com/pierrec/lz4/v4",
	"github.com/ulikunitz/xz",
	"github.com/sylabs/sif/v2",
	"github.com/google/go-containerregistry",
	"github.com/pcocc/pcocc/internal/sqfuse",
	"github.com/pcocc/pcocc/internal/imagesrc",
	"github.com/pcocc/pcocc/internal/importer",
	"github.com/pcocc/pcocc/internal/regclient",
	"github.com/pcocc/pcocc/internal/engine",
	"github.com/pcocc/pcocc/internal/check",
	"github.com/pcocc/pcocc/internal/vm",
	"github.com/spf13/cobra",
	"github.com/spf13/pflag",
	"text/template",
	"net/http",
	"crypto/tls",
	// The standard library's FIPS 140 module: crypto/sha256 and
	// crypto/rand link it (DRBG, AES-GCM, SHA-3, SHA-512, math/big), 16
	// packages initialised at every start. The launcher hashes no content
	// (package digest's hashing is !pcocc_launcher), names cache entries
	// with package namesum and draws random names from getrandom(2).
	"crypto/sha256",
	"crypto/rand",
	"crypto/internal/fips140",
	"math/big",
	// YAML: the launcher reads the snapshot of the configuration that
	// pcocc-cli parsed (config.LoadCache, internal/config/cache.go).
	"github.com/goccy/go-yaml",
}

func TestLauncherDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "pcocc_launcher", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps: %q", out)
	}
	for _, dep := range deps {
		for _, off := range launcherOff {
			if dep == off || strings.HasPrefix(dep, off+"/") { // a package or its subpackages
				t.Errorf("the launcher links %s: it belongs to pcocc-cli (each linked package is initialised at every pcocc run)", dep)
			}
		}
	}
}

// launcherInitModules are the modules outside the standard library whose
// packages may work at the launcher's initialisation.
var launcherInitModules = []string{"github.com/pcocc/pcocc", "golang.org/x/sys"}

// maxLauncherInits bounds the packages that work at the launcher's
// initialisation (50 when it was written, 32 without the FIPS 140 module,
// 28 without YAML; the full program: 120).
const maxLauncherInits = 30

// TestLauncherInit builds the launcher and counts the packages it
// initialises (GODEBUG=inittrace=1): a count, not a time, so that it says
// the same on a loaded machine.
func TestLauncherInit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the launcher")
	}
	bin := t.TempDir() + "/pcocc"
	build := exec.Command("go", "build", "-tags", "pcocc_launcher", "-o", bin, ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Skipf("go build: %v: %s", err, out)
	}
	// run without an image: the launcher declines it, and fails to
	// find pcocc-cli next to itself; its packages were initialised.
	cmd := exec.Command(bin, "run")
	cmd.Env = append(cmd.Environ(), "GODEBUG=inittrace=1")
	out, _ := cmd.CombinedOutput()
	n := 0
	for _, in := range parseInitTrace(t, string(out)) {
		n++
		first, _, _ := strings.Cut(in.pkg, "/")
		if strings.Contains(first, ".") && !hasPrefixIn(in.pkg, launcherInitModules) {
			t.Errorf("the launcher initialises %s (%d allocations): a cost at every pcocc run", in.pkg, in.allocs)
		}
	}
	if n > maxLauncherInits {
		t.Errorf("the launcher initialises %d packages (at most %d): a cost at every pcocc run", n, maxLauncherInits)
	}
	t.Logf("the launcher initialises %d packages", n)
}

func hasPrefixIn(pkg string, modules []string) bool {
	for _, m := range modules {
		if pkg == m || strings.HasPrefix(pkg, m+"/") {
			return true
		}
	}
	return false
}
