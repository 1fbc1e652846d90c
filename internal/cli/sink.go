//go:build !pcocc_launcher

package cli

import (
	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/importer"
	"github.com/pcocc/pcocc/internal/repo"
)

// txSink lets the import pipeline write into a repository transaction
// without either package knowing the other.
type txSink struct{ tx *repo.Tx }

func (s txSink) BlobWriter(d digest.Digest) (importer.Blob, error) {
	b, err := s.tx.BlobWriter(d)
	if b == nil || err != nil {
		return nil, err // a typed nil must not become a non-nil interface
	}
	return b, nil
}

func (s txSink) SquashfsPath() string { return s.tx.SquashfsPath() }

// squashfsOnlySink keeps no blob (an import with --no-layers, or into a
// repository with keep_layers: false): the pipeline still reads and verifies
// every layer, and only the squashfs is stored. A spooled blob stays in the
// transaction's directory, which goes with it.
type squashfsOnlySink struct{ txSink }

func (squashfsOnlySink) BlobWriter(digest.Digest) (importer.Blob, error) { return nil, nil }

func (squashfsOnlySink) LinkBlob(digest.Digest, string) error { return nil }
