package vmcli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/dockerenv"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/sshkeys"
	"github.com/pcocc/pcocc/internal/vmjob"
)

// docker batch starts docker alloc again, detached, with the same choices.
func TestDockerDetached(t *testing.T) {
	p, _ := dockerenv.NewPlan(dockerenv.Request{Template: "docker-persist", Cores: 2, Timeout: 90 * time.Second})
	h := &dockerHooks{e: &env{name: "pcocc"}, plan: p}
	got := strings.Join(h.Detached(&allocOpts{script: "job.sh", name: "b"}), " ")
	if want := "pcocc docker alloc -E job.sh --id-fd 3 -t docker-persist -c 2 -T 1m30s -J b"; got != want {
		t.Errorf("detached: %q, want %q", got, want)
	}
}

// The engine's ssh connection checks the host key the job's seed gave.
func TestKnownHostKey(t *testing.T) {
	dir := t.TempDir()
	hk, err := sshkeys.NewHostKey("vm0")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, knownHostsFile), []byte("vm0 "+hk.Public+"\n"), 0o600)
	job := &vmjob.Job{Dir: dir}
	k, err := knownHostKey(job, "vm0")
	if err != nil || string(k.Marshal()) != string(hk.PublicKey().Marshal()) {
		t.Fatalf("vm0: %v", err)
	}
	if _, err := knownHostKey(job, "vm1"); err == nil {
		t.Error("vm1: no error")
	}
}

// Bad input to the docker commands: one line naming what is wrong, exit
// status 2, before anything starts.
func TestDockerBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"docker", "foo"}, `unknown command "foo"`},
		{[]string{"docker", "alloc", "-c", "-2"}, "-c -2: the number of cores must be positive"},
		{[]string{"docker", "alloc", "-T", "soon"}, "-T soon: expected a positive duration"},
		{[]string{"docker", "alloc", "extra"}, "expected no arguments"},
		{[]string{"docker", "import", "a"}, "expected two arguments"},
	} {
		var out, errb strings.Builder
		e := &env{name: "pcocc", stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
			getenv: func(string) string { return "" }, base: t.TempDir()}
		root := newRoot(e)
		root.SetArgs(c.args)
		err := root.Execute()
		if exitcode.Of(err) != exitcode.Usage || err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: %v (exit %d), want one line with %q", c.args, err, exitcode.Of(err), c.want)
		}
	}
}
