package runtime

import (
	"os/exec"
	"strings"
	"testing"
)

// launchDeps are the packages outside the standard library that the launch
// core may link, and so initialise at every container start: the container
// plan and init, the squashfs header (sqfsformat, a standard-library leaf)
// and the unpack cache; digest, the type of the image metadata's digests,
// is a standard-library leaf with nothing to initialise. The FUSE server and the unpacker (sqfuse: go-fuse
// and squashfs's decompressors) come from the caller (Options.Images), so
// that a launch which needs neither links neither. Image formats,
// registries, YAML and the CLI stay off this path too (docs/benchmarks.md,
// "Start"). An entry admits its subpackages.
var launchDeps = []string{
	"github.com/pcocc/pcocc/internal/container",
	"github.com/pcocc/pcocc/internal/containerinit",
	"github.com/pcocc/pcocc/internal/digest",
	"github.com/pcocc/pcocc/internal/envspec",
	"github.com/pcocc/pcocc/internal/exitcode",
	"github.com/pcocc/pcocc/internal/imagemeta",
	"github.com/pcocc/pcocc/internal/mountspec",
	"github.com/pcocc/pcocc/internal/namesum",
	"github.com/pcocc/pcocc/internal/runtime",
	"github.com/pcocc/pcocc/internal/safeopen",
	"github.com/pcocc/pcocc/internal/sqfsformat",
	"github.com/pcocc/pcocc/internal/squashfs",
	"github.com/pcocc/pcocc/internal/tools",
	"github.com/pcocc/pcocc/internal/unpack",
	"golang.org/x/sys",
}

// stdlibOff are standard packages the launch core must not need: a network
// stack, TLS, templates.
var stdlibOff = []string{"net/http", "crypto/tls", "crypto/x509", "text/template", "html/template"}

func TestLaunchPathDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		first, _, _ := strings.Cut(dep, "/")
		if !strings.Contains(first, ".") { // the standard library
			for _, off := range stdlibOff {
				if dep == off {
					t.Errorf("the launch core links %s", dep)
				}
			}
			continue
		}
		if !allowed(dep) {
			t.Errorf("the launch core links %s: not in launchDeps (each linked package is initialised at every start)", dep)
		}
	}
}

func allowed(dep string) bool {
	for _, a := range launchDeps {
		module := strings.TrimSuffix(a, "/")
		if dep == module || strings.HasPrefix(dep, module+"/") {
			return true
		}
	}
	return false
}
