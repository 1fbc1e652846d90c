package dockerenv

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/testutil"
)

// TestOtherUser: the job's socket, in its 0700 directory, answers its owner
// (tester) with the docker CLI's own client (curl here) and refuses
// another user (tester2). Root serves it on tester's behalf.
func TestOtherUser(t *testing.T) {
	tester := testutil.UserID(t, testutil.Tester)
	testutil.UserID(t, testutil.Tester2)
	base, err := os.MkdirTemp("/var/tmp", "pcocc-dockerenv-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	job := filepath.Join(base, "job")
	os.Mkdir(job, 0o700)
	ln, err := Listen(job)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, p := range []string{job, SocketDir(job), SocketPath(job)} {
		os.Chown(p, tester, tester) // as the user's pcocc would have made them
	}
	engine := filepath.Join(base, "engine.sock")
	fakeEngine(t, engine)
	go Serve(ln, func() (net.Conn, error) { return net.Dial("unix", engine) })
	ping := func(user string) (string, error) {
		out, err := testutil.AsUser(user, nil, "curl", "-sS", "--unix-socket", SocketPath(job), "http://docker/_ping").CombinedOutput()
		return string(out), err
	}
	if out, err := ping(testutil.Tester); err != nil || out != "OK /_ping" {
		t.Fatalf("the owner: %v %s", err, out)
	}
	if out, err := ping(testutil.Tester2); err == nil || strings.Contains(out, "OK") {
		t.Errorf("tester2 reached the engine: %v %s", err, out)
	}
	// Why: the socket's directory is closed to others.
	out, err := testutil.AsUser(testutil.Tester2, nil, "ls", SocketPath(job)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Permission denied") {
		t.Errorf("tester2 sees the socket: %v %s", err, out)
	}
}

// Under Slurm a job's socket lives in TMP/pcocc-docker-UID: one that
// another user (tester2) made first, private to them, is refused for
// tester with one line, rather than used.
func TestNodeDirOtherUser(t *testing.T) {
	tester := testutil.UserID(t, testutil.Tester)
	tester2 := testutil.UserID(t, testutil.Tester2)
	base := t.TempDir()
	os.Chmod(base, 0o1777)
	squat := filepath.Join(base, "pcocc-docker-"+strconv.Itoa(tester))
	os.Mkdir(squat, 0o700)
	os.Chown(squat, tester2, tester2)
	_, err := NodeDir(base, tester, 3)
	if err == nil || !strings.Contains(err.Error(), squat+" is not a private directory of yours") {
		t.Errorf("tester2's directory: %v", err)
	}
}
