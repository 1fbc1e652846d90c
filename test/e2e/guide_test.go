package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/testutil"
)

// example is one command of the user guide and what it must print.
type example struct {
	line   int
	cmd    string
	expect []string
	slurm  bool
}

// parseGuide extracts the commands of the ```console blocks: "$ " starts a
// command, "> " continues it, other lines are expected output.
func parseGuide(path string) ([]example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []example
	inBlock, slurm := false, false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "```console"):
			inBlock, slurm = true, strings.Contains(l, "slurm")
		case strings.HasPrefix(l, "```"):
			inBlock = false
		case !inBlock:
		case strings.HasPrefix(l, "$ "):
			out = append(out, example{line: n, cmd: l[2:], slurm: slurm})
		case strings.HasPrefix(l, "> ") && len(out) > 0:
			out[len(out)-1].cmd += "\n" + l[2:]
		case l != "" && len(out) > 0:
			out[len(out)-1].expect = append(out[len(out)-1].expect, l)
		}
	}
	return out, sc.Err()
}

func guidePath() string {
	if p := os.Getenv("PCOCC_GUIDE"); p != "" {
		return p
	}
	return filepath.Join("..", "..", "docs", "user-guide.md")
}

// TestUserGuide runs every example of docs/user-guide.md, in order, in one
// shell, against real images, and checks what they print.
func TestUserGuide(t *testing.T) {
	requireHarness(t)
	if !conditions["fixtures"]() || !conditions["fuse"]() || !conditions["userns"]() {
		t.Skip("needs fixtures, FUSE and user namespaces")
	}
	examples, err := parseGuide(guidePath())
	if err != nil {
		t.Fatal(err)
	}
	if len(examples) < 10 {
		t.Fatalf("only %d examples found in %s", len(examples), guidePath())
	}
	u := newUserEnv(t)
	work := t.TempDir()
	prepareGuide(t, work)
	script, ran := guideScript(examples, conditions["slurm"]())
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir, cmd.Env = work, u.env
	out, _ := cmd.CombinedOutput()
	results := splitResults(string(out))
	for _, i := range ran {
		e := examples[i]
		r, ok := results[i]
		if !ok {
			t.Fatalf("guide line %d: %q did not run; output:\n%s", e.line, e.cmd, out)
		}
		if r.rc != 0 {
			t.Errorf("guide line %d: %q: exit %d:\n%s", e.line, e.cmd, r.rc, r.out)
			continue
		}
		for _, want := range e.expect {
			if !strings.Contains(r.out, want) {
				t.Errorf("guide line %d: %q: output lacks %q:\n%s", e.line, e.cmd, want, r.out)
			}
		}
	}
}

// guideScript chains the examples in one bash script; each one's output is
// framed by markers that carry its index and exit status.
func guideScript(examples []example, slurm bool) (string, []int) {
	var b strings.Builder
	var ran []int
	for i, e := range examples {
		if e.slurm && !slurm {
			continue
		}
		ran = append(ran, i)
		fmt.Fprintf(&b, "echo '@@start %d'\n{\n%s\n} 2>&1\necho \"@@end %d $?\"\n", i, e.cmd, i)
	}
	return b.String(), ran
}

type result struct {
	out string
	rc  int
}

var endMarker = regexp.MustCompile(`^@@end (\d+) (\d+)$`)

func splitResults(out string) map[int]result {
	res := map[int]result{}
	var cur strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "@@start ") {
			cur.Reset()
			continue
		}
		if m := endMarker.FindStringSubmatch(l); m != nil {
			i, _ := strconv.Atoi(m[1])
			rc, _ := strconv.Atoi(m[2])
			res[i] = result{out: cur.String(), rc: rc}
			continue
		}
		cur.WriteString(l + "\n")
	}
	return res
}

// prepareGuide puts in work what the guide's reader has: a docker save of an
// image, and a SIF file built like Apptainer builds one.
func prepareGuide(t *testing.T, work string) {
	t.Helper()
	src := filepath.Join(testutil.Fixtures(), "busybox.docker.tar")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "my_docker_image.tar"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	sif := `set -e
R=sifroot
mkdir -p $R/bin $R/etc $R/.singularity.d/env
cp "$(command -v busybox)" $R/bin/busybox
for a in sh echo cat ls; do ln -s busybox $R/bin/$a; done
echo sif > $R/etc/motd
printf '#!/bin/sh\necho "runscript: $GREETING"\n' > $R/.singularity.d/runscript
chmod 755 $R/.singularity.d/runscript
printf 'export GREETING="hello"\n' > $R/.singularity.d/env/90-environment.sh
gensquashfs -q -D $R -u 0 -g 0 -c gzip sif.sqfs
printf 'Bootstrap: docker\nFrom: busybox\n' > def.txt
siftool new mysifimage.sif
siftool add mysifimage.sif def.txt --datatype 1
siftool add mysifimage.sif sif.sqfs --datatype 4 --parttype 2 --partfs 1 --partarch 2
rm -rf $R sif.sqfs def.txt
`
	cmd := exec.Command("sh", "-c", sif)
	cmd.Dir = work
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("making the SIF: %v: %s", err, out)
	}
}
