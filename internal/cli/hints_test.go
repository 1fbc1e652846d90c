package cli

import (
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/imagemeta"
)

// Docker and Apptainer habits get one line naming pcocc's way, status 125.
func TestRunForeignHabits(t *testing.T) {
	programHome(t)
	fakeImage(t, imagemeta.Config{Cmd: []string{"c"}})
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
		{[]string{"docker://registry/x:1"}, "'pcocc image import docker://registry/x:1 x', then 'pcocc run x'"},
		{[]string{"docker-archive:/d/y.tar:r/y:1"}, "'pcocc image import docker-archive:/d/y.tar:r/y:1 y', then 'pcocc run y'"},
	}
	for _, tt := range tests {
		_, _, _, err := dryRunRoot(t, tt.args...)
		if CodeOf(err) != ExitRunError || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run %q: code %d, err %v; want 125 and %q", tt.args, CodeOf(err), err, tt.want)
		}
	}
}
