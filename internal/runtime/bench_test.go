package runtime

import (
	"context"
	"os"
	"testing"

	"github.com/pcocc/pcocc/internal/sqfuse"
)

// BenchmarkRunTrue measures a whole warm launch of `true` in the busybox
// image: namespaces, squashfuse_ll mount, overlay, mounts, pivot_root, exec,
// teardown. (The init binary here is the test binary, a little larger than
// pcocc.)
func BenchmarkRunTrue(b *testing.B) {
	if os.Geteuid() == 0 {
		b.Skip("run as an unprivileged user")
	}
	t := &testing.T{}
	spec := launch{opts: args("true")}.spec(t)
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devnull.Close()
	b.ResetTimer()
	for b.Loop() {
		code, err := Run(context.Background(), spec, Options{Stdin: devnull, Stdout: devnull, Stderr: devnull, Images: sqfuse.InProcess{}})
		if err != nil || code != 0 {
			b.Fatalf("code %d err %v", code, err)
		}
	}
}
