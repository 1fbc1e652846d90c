package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/progress"
)

// Stager is what a Sink must also be to import a streamed source (an
// engine's export, a registry), whose blobs must be kept before the image
// can be flattened: their digest is known only once they are read, so they
// are written into Dir and then staged under their digest. They are no
// temporary copies: the repository keeps the blobs of every image.
type Stager interface {
	Dir() string                                 // a private directory of the transaction
	LinkBlob(d digest.Digest, path string) error // stage the file at path as that blob
}

// fetch runs a streamed source's Fetch with a spool into sink.
func fetch(ctx context.Context, img imagesrc.Streamed, sink Sink, opt Options) (imagesrc.Layered, error) {
	st, ok := sink.(Stager)
	if !ok {
		return nil, errors.New("this repository cannot keep streamed blobs")
	}
	sp := &spool{st: st, progress: opt.FetchProgress}
	defer sp.done()
	return img.Fetch(ctx, sp)
}

// spool implements imagesrc.Spool; Put may be called from several
// goroutines.
type spool struct {
	st       Stager
	progress progress.Reporter
	mu       sync.Mutex
	started  bool
}

func (s *spool) Expect(total int64, blobs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.started = true
		s.progress.Start(total, blobs)
	}
}

func (s *spool) done() {
	if s.started {
		s.progress.Done()
	}
}

func (s *spool) Put(r io.Reader, want digest.Digest) (imagesrc.Spooled, error) {
	s.Expect(-1, 0)
	f, err := os.CreateTemp(s.st.Dir(), "spool-*")
	if err != nil {
		return imagesrc.Spooled{}, err
	}
	h := digest.NewHasher()
	n, err := io.Copy(io.MultiWriter(f, h), s.progress.Reader(r))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	d := h.Digest()
	if err == nil && want != "" && d != want {
		err = fmt.Errorf("blob does not match its digest %s (got %s)", want, d)
	}
	if err == nil {
		s.mu.Lock()
		err = s.st.LinkBlob(d, f.Name())
		s.mu.Unlock()
	}
	if err != nil {
		os.Remove(f.Name())
		return imagesrc.Spooled{}, err
	}
	s.progress.LayerDone()
	name := f.Name()
	return imagesrc.Spooled{Digest: d, Size: n, Open: func() (io.ReadCloser, error) { return os.Open(name) }}, nil
}
