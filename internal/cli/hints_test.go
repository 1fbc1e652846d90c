//go:build !pcocc_launcher

package cli

import (
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/imagemeta"
)

// Docker and Apptainer habits get one line naming pcocc's way, status 125.
func TestRunForeignHabits(t *testing.T) {
	home := programHome(t)
	withImages(t, home, imagemeta.Config{Cmd: []string{"c"}})
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-v", "/a:/b", "img", "ls"}, `"/a:/b" is not an image: pcocc's -v is --verbose, not a volume; write it --mount src=/a,dst=/b`},
		{[]string{"-v", "./d:/b:ro", "img"}, "--mount src=./d,dst=/b,ro"},
		{[]string{"--volume", "/a:/b", "img"}, "unknown flag: --volume: mount with --mount src=SRC,dst=DST"},
		{[]string{"--bind", "/a:/b", "img"}, "mount with --mount src=SRC,dst=DST"},
		{[]string{"img", "--mount", "/a:/b", "ls"}, "write it --mount src=/a,dst=/b"},
		{[]string{"--nv", "img"}, "-M nvidia"},
		{[]string{"--gpus", "all", "img"}, "-M nvidia"},
		{[]string{"-u", "0", "img"}, "never as another user"},
		{[]string{"--user", "0", "img"}, "never as another user"},
		{[]string{"--rm", "img"}, "no --rm is needed"},
		{[]string{"-it", "img", "sh"}, "no -i/-t is needed"},
		{[]string{"img", "-t", "sh"}, "no -i/-t is needed"},
		{[]string{"./x.tar"}, "'pcocc image import docker-archive:./x.tar x', then 'pcocc run x'"},
		{[]string{"lolcow.sif"}, "'pcocc image import sif:lolcow.sif lolcow', then 'pcocc run lolcow'"},
		{[]string{"./x.tar"}, "run it as 'pcocc run docker-archive:./x.tar' (imported once into your cache)"},
		// A transport reference runs (from the cache of sources:
		// run_source.txtar); here the repositories are empty.
	}
	for _, tt := range tests {
		_, _, _, err := dryRunRoot(t, tt.args...)
		if exitcode.Of(err) != exitcode.Setup || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run %q: code %d, err %v; want 125 and %q", tt.args, exitcode.Of(err), err, tt.want)
		}
	}
}

// An unknown image name suggests the closest image or template name.
func TestRunSuggestsClosestName(t *testing.T) {
	testHome(t) // images alpha, beta, gamma; template tpl
	for _, tt := range []struct{ name, want string }{
		{"alpah", `; did you mean "alpha"?`},
		{"gama", `; did you mean "gamma"?`},
		{"tlp", `; did you mean "tpl"?`},
		{"host-passthru", `; did you mean "host-passthrough"?`},
		{"zzzzzz", ""},
	} {
		_, _, _, err := dryRunRoot(t, tt.name, "true")
		if err == nil || !strings.Contains(err.Error(), "not found") {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := ""
		if i := strings.Index(err.Error(), "; did you mean"); i >= 0 {
			got = err.Error()[i:]
		}
		if got != tt.want {
			t.Errorf("%s: %v; want the suffix %q", tt.name, err, tt.want)
		}
	}
}
