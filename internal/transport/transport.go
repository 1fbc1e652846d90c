// Package transport lists the places images are read from and written to
// and dispatches a reference to its transport: ParseRef reads
// TRANSPORT:PATH[:REF], Open and Write call the transport's package. Each
// transport is a package below this one that reads and writes its format:
// dockerarchive, ocilayout (oci: and oci-archive:), dockerdaemon, registry
// (docker://) and sif; layout holds what the archive and directory
// layouts share. The list is open: another kind of source (VM images)
// joins with Register without touching these.
package transport

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/transport/dockerarchive"
	"github.com/pcocc/pcocc/internal/transport/dockerdaemon"
	"github.com/pcocc/pcocc/internal/transport/ocilayout"
	"github.com/pcocc/pcocc/internal/transport/registry"
	"github.com/pcocc/pcocc/internal/transport/sif"
)

var (
	mu sync.RWMutex
	// table is in the order error messages list the transports. An
	// explicit table of functions, not registrations at init: the linker
	// lays it out, nothing runs at each start of pcocc.
	table = []imagesrc.Transport{
		{Name: dockerarchive.Name, Form: imagesrc.FileRef, Open: dockerarchive.Open, Write: dockerarchive.Write},
		{Name: ocilayout.DirName, Form: imagesrc.DirRef, Open: ocilayout.OpenDir, Write: ocilayout.WriteDir},
		{Name: ocilayout.ArchiveName, Form: imagesrc.FileRef, Open: ocilayout.OpenArchive, Write: ocilayout.WriteArchive},
		{Name: dockerdaemon.Name, Form: imagesrc.NameOnly, Open: dockerdaemon.Open, Write: dockerdaemon.Write},
		{Name: registry.Name, Form: imagesrc.URLName, Open: registry.Open},
		{Name: sif.Name, Form: imagesrc.FileOnly, Open: sif.Open},
	}
)

// Register adds a transport; a name taken already is a programming error.
func Register(t imagesrc.Transport) {
	mu.Lock()
	defer mu.Unlock()
	if slices.ContainsFunc(table, func(k imagesrc.Transport) bool { return k.Name == t.Name }) {
		panic(fmt.Sprintf("transport %q registered twice", t.Name))
	}
	table = append(table, t)
}

// Lookup returns the transport called name.
func Lookup(name string) (imagesrc.Transport, bool) {
	mu.RLock()
	defer mu.RUnlock()
	for _, t := range table {
		if t.Name == name {
			return t, true
		}
	}
	return imagesrc.Transport{}, false
}

// Names lists the transports ParseRef knows, in the order error messages
// give them.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, len(table))
	for i, t := range table {
		names[i] = t.Name
	}
	return names
}

// Open opens the image ref names.
func Open(ctx context.Context, ref imagesrc.Ref) (imagesrc.Image, error) {
	img, err := open(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", ref, err)
	}
	return img, nil
}

func open(ctx context.Context, ref imagesrc.Ref) (imagesrc.Image, error) {
	t, ok := Lookup(ref.Transport)
	if !ok {
		return nil, fmt.Errorf("%w %q", imagesrc.ErrUnknownTransport, ref.Transport)
	}
	return t.Open(ctx, ref)
}

// Write writes img where ref names, through its transport's Write.
func Write(ctx context.Context, img imagesrc.Layered, ref imagesrc.Ref) error {
	t, ok := Lookup(ref.Transport)
	if !ok || t.Write == nil {
		return fmt.Errorf("%w: export to %s", imagesrc.ErrNotSupported, ref.Transport)
	}
	return t.Write(ctx, img, ref)
}
