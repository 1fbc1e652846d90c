package cli

import (
	"github.com/pcocc/pcocc/internal/importer"
	"github.com/pcocc/pcocc/internal/repo"
)

// txSink lets the import pipeline write into a repository transaction
// without either package knowing the other. With noLayers it keeps no blob:
// the pipeline reads and verifies them, and only the squashfs is stored.
type txSink struct {
	tx       *repo.Tx
	noLayers bool
}

func (s txSink) BlobWriter(digest string) (importer.Blob, error) {
	if s.noLayers {
		return nil, nil // as for a blob the repository has
	}
	b, err := s.tx.BlobWriter(digest)
	if b == nil || err != nil {
		return nil, err // a typed nil must not become a non-nil interface
	}
	return b, nil
}

func (s txSink) SquashfsPath() string { return s.tx.SquashfsPath() }
