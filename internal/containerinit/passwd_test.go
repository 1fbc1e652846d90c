package containerinit

import (
	"os"
	"syscall"
	"testing"

	"github.com/pcocc/pcocc/internal/container"
	"github.com/pcocc/pcocc/internal/exitcode"
)

func TestMergePasswdAndGroup(t *testing.T) {
	u := container.User{UID: 1001, GID: 1002, Name: "alice", Group: "staff", Home: "/home/alice"}
	image := []byte("root:x:0:0:root:/root:/bin/sh\nalice:x:5:5::/:/bin/false\n\nbob:x:1001:1001::/:/bin/sh\nnobody:x:65534:65534::/:/bin/false")
	want := "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\nalice:x:1001:1002:alice:/home/alice:/bin/bash\n"
	if got := string(mergePasswd(image, u, "/bin/bash")); got != want {
		t.Errorf("passwd:\n%s\nwant:\n%s", got, want)
	}
	groups := []byte("root:x:0:\nstaff:x:50:\nusers:x:1002:bob\nvideo:x:44:alice\n")
	wantG := "root:x:0:\nvideo:x:44:alice\nstaff:x:1002:alice\n"
	if got := string(mergeGroup(groups, u)); got != wantG {
		t.Errorf("group:\n%s\nwant:\n%s", got, wantG)
	}
	if got := string(mergePasswd(nil, u, "/bin/sh")); got != "alice:x:1001:1002:alice:/home/alice:/bin/sh\n" {
		t.Errorf("passwd from nothing: %q", got)
	}
}

func TestExecErrorCodes(t *testing.T) {
	tests := []struct {
		err  error
		code int
	}{
		{execError("x", errnoErr(2)), exitcode.NotFound}, // ENOENT
		{execError("x", errnoErr(13)), exitcode.NotExec}, // EACCES
		{execError("x", errnoErr(8)), exitcode.NotExec},  // ENOEXEC
		{execError("x", errnoErr(21)), exitcode.NotExec}, // EISDIR
		{execError("x", errnoErr(12)), exitcode.Setup},   // ENOMEM: pcocc's problem
	}
	for _, tt := range tests {
		if got := exitcode.OfOr(tt.err, exitcode.Setup); got != tt.code {
			t.Errorf("code of %v = %d, want %d", tt.err, got, tt.code)
		}
	}
}

func errnoErr(n int) error { return &os.PathError{Op: "exec", Path: "x", Err: syscall.Errno(n)} }
