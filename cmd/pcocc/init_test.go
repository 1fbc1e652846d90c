package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// pcocc's own packages may do this much at initialisation: every linked
// package's initialisation runs at every start of pcocc, `pcocc run`
// included. Allocations are counted rather than timed, so that the test
// says the same on every machine; regular expressions, tables and buffers
// are made on first use instead (package lazy).
const (
	maxInitAllocs = 32
	maxInitBytes  = 4 << 10
)

// initModules are the modules outside the standard library whose packages
// may do work at initialisation in pcocc (GODEBUG=inittrace=1 lists them):
// a new one is a cost at every start (docs/benchmarks.md, "Start").
var initModules = []string{
	"github.com/pcocc/pcocc",
	"golang.org/x/sys",
	"github.com/hanwen/go-fuse/v2",
	"github.com/klauspost/compress",
	"github.com/pierrec/lz4/v4",
	"github.com/ulikunitz/xz",
	"github.com/goccy/go-yaml",
	"github.com/opencontainers/go-digest",
	"github.com/opencontainers/image-spec",
	"github.com/google/go-containerregistry",
	"github.com/google/uuid",
	"github.com/sylabs/sif/v2",
	"github.com/spf13/cobra",
	"github.com/spf13/pflag",
}

type initTrace struct {
	pkg           string
	ms            float64
	bytes, allocs int
}

// TestPackageInit runs this test binary, which links what pcocc links,
// with GODEBUG=inittrace=1 and checks each package's initialisation.
func TestPackageInit(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	var total float64
	for _, in := range parseInitTrace(t, stderr.String()) {
		total += in.ms
		first, _, _ := strings.Cut(in.pkg, "/")
		switch {
		case strings.HasPrefix(in.pkg, "github.com/pcocc/pcocc/"):
			if in.allocs > maxInitAllocs || in.bytes > maxInitBytes {
				t.Errorf("%s: %d allocations, %d bytes at initialisation (at most %d, %d): make it lazy",
					in.pkg, in.allocs, in.bytes, maxInitAllocs, maxInitBytes)
			}
		case strings.Contains(first, ".") && !knownModule(in.pkg):
			t.Errorf("%s works at initialisation (%d allocations): not in initModules", in.pkg, in.allocs)
		}
	}
	t.Logf("package initialisation: %.2f ms in all (this machine, this moment)", total)
}

func knownModule(pkg string) bool {
	for _, m := range initModules {
		if pkg == m || strings.HasPrefix(pkg, m+"/") {
			return true
		}
	}
	return false
}

// parseInitTrace reads lines "init PKG @T ms, C ms clock, B bytes, N allocs".
func parseInitTrace(t *testing.T, out string) []initTrace {
	t.Helper()
	var r []initTrace
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 11 || f[0] != "init" {
			continue
		}
		ms, err1 := strconv.ParseFloat(f[4], 64)
		b, err2 := strconv.Atoi(f[7])
		n, err3 := strconv.Atoi(f[9])
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatalf("unexpected inittrace line %q", sc.Text())
		}
		r = append(r, initTrace{pkg: f[1], ms: ms, bytes: b, allocs: n})
	}
	if len(r) == 0 {
		t.Fatalf("no inittrace lines in %q", out)
	}
	return r
}
