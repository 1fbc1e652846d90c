package main

import (
	"os/exec"
	"strings"
	"testing"
)

// launcherOff are packages the launcher (bin/pcocc, built with the tag
// pcocc_launcher) must not link: each linked package is initialised at
// every start, and the launcher starts at every `pcocc run`. They belong
// to the full program, pcocc-image, which the launcher starts for the
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
				t.Errorf("the launcher links %s: it belongs to pcocc-image (each linked package is initialised at every pcocc run)", dep)
			}
		}
	}
}
