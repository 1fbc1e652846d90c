package vmcli

import (
	"bufio"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/vmjob"
)

// asJob makes the test binary a job's process: it creates a job under the
// base directory this variable names, says so, and tears it down on
// SIGTERM, as alloc does.
const asJob = "VMCLI_TEST_AS_JOB"

func actAsJob(base string) int {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	j, err := vmjob.Create(base, "victim")
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	os.Stdout.WriteString("ready\n")
	<-term
	time.Sleep(300 * time.Millisecond) // a teardown takes time: cancel waits for it
	j.Remove()
	return 0
}

// cancel -J ends a job run by another process and returns once it has
// ended; without -j or -J, or for no such job, it fails with one line.
func TestCancel(t *testing.T) {
	base := filepath.Join(t.TempDir(), "vm")
	job := exec.Command(os.Args[0], "-test.run=^$")
	job.Env = append(os.Environ(), asJob+"="+base)
	out, _ := job.StdoutPipe()
	job.Stderr = os.Stderr
	if err := job.Start(); err != nil {
		t.Fatal(err)
	}
	defer job.Process.Kill()
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		t.Fatalf("the job process: %q", line)
	}
	pcoccVM := func(args ...string) (string, int) {
		var stdout, stderr strings.Builder
		e := &env{name: "pcocc", stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
			getenv: func(string) string { return "" }, base: base}
		root := newRoot(e)
		root.SetArgs(args)
		err := root.Execute()
		return stdout.String() + stderr.String() + errString(err), exitcode.Of(err)
	}
	if msg, code := pcoccVM("cancel"); code != exitcode.Usage || !strings.Contains(msg, "-j JOBID or -J NAME") {
		t.Errorf("cancel without a job: status %d, %q", code, msg)
	}
	if msg, code := pcoccVM("cancel", "-j", "99"); code == 0 || !strings.Contains(msg, "no running cluster with job id 99") {
		t.Errorf("cancel -j 99: status %d, %q", code, msg)
	}
	start := time.Now()
	if msg, code := pcoccVM("cancel", "-J", "victim"); code != 0 {
		t.Fatalf("cancel -J victim: status %d, %q", code, msg)
	}
	if jobs, _ := vmjob.List(base); len(jobs) != 0 || time.Since(start) < 300*time.Millisecond {
		t.Errorf("cancel returned after %s, before the job ended: %v", time.Since(start), jobs)
	}
	if err := job.Wait(); err != nil {
		t.Errorf("the job process: %v (want: ended by its SIGTERM teardown)", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
