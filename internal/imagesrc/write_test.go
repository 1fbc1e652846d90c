package imagesrc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/imagemeta"
)

// slowCloser takes its time to close, as a blob of a repository being
// read would: a generator left running would still be in Close.
type slowCloser struct {
	io.Reader
	open *atomic.Int32
}

func (s slowCloser) Close() error {
	time.Sleep(100 * time.Millisecond)
	s.open.Add(-1)
	return nil
}

// An engine that stops reading early (here after 8 KiB, with an error)
// makes the export fail with its error, and only once the archive
// generator has stopped and closed every blob it opened: its caller
// unlocks the repository next.
func TestStreamToEngineStopsGenerator(t *testing.T) {
	cfg := []byte(`{"rootfs":{"type":"layers","diff_ids":[]}}`)
	blob := bytes.Repeat([]byte("layer data "), 100000)
	var open atomic.Int32
	layer := Layer{Digest: sha(blob), Size: int64(len(blob)), Open: func() (io.ReadCloser, error) {
		open.Add(1)
		return slowCloser{bytes.NewReader(blob), &open}, nil
	}}
	e := &writer{ctx: context.Background(), img: NewLayered(imagemeta.Config{}, cfg, sha(cfg), []Layer{layer})}
	refused := errors.New("engine refused the archive")
	err := e.streamTo("x:1", func(r io.Reader) error {
		io.ReadFull(r, make([]byte, 8192))
		return refused
	})
	if !errors.Is(err, refused) {
		t.Errorf("error %v, want the engine's", err)
	}
	if n := open.Load(); n != 0 {
		t.Errorf("%d blobs still open when the export returned", n)
	}
}
