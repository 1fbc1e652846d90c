package squashfs_test

import (
	"testing"

	"github.com/pcocc/pcocc/internal/sqfuse"
	"github.com/pcocc/pcocc/internal/squashfs"
)

// The container init starts sqfuse servers by this argument without
// importing sqfuse (to stay small): both must agree.
func TestSqfuseArg(t *testing.T) {
	if squashfs.SqfuseArg != sqfuse.Arg {
		t.Fatalf("squashfs.SqfuseArg %q, sqfuse.Arg %q", squashfs.SqfuseArg, sqfuse.Arg)
	}
}
