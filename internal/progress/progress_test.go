package progress

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestLine(t *testing.T) {
	var out syncBuf
	l := NewLine(&out, "importing", time.Millisecond)
	l.Start(3<<20, 2)
	io.Copy(io.Discard, l.Reader(bytes.NewReader(make([]byte, 2<<20))))
	l.LayerDone()
	time.Sleep(10 * time.Millisecond)
	l.Done()
	s := out.String()
	if !strings.Contains(s, "importing: layer 2/2  2.0 MiB / 3.0 MiB") || !strings.HasSuffix(s, "\n") {
		t.Errorf("output %q", s)
	}
}

func TestSilentOffTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	for _, quiet := range []bool{false, true} {
		r := New(f, "x", quiet)
		if _, ok := r.(nop); !ok {
			t.Errorf("New(file, quiet=%v) = %T, want the no-op reporter", quiet, r)
		}
	}
}
