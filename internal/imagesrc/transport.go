package imagesrc

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
)

// Form says how a transport names an image after "TRANSPORT:".
type Form int

// Forms of references.
const (
	// FileRef is PATH[:REF]: a file, and an image inside it.
	FileRef Form = iota
	// DirRef is PATH[:REF]: a directory, and an image inside it.
	DirRef
	// FileOnly is PATH: a file holding one image (the whole rest is the path).
	FileOnly
	// NameOnly is NAME: an image a service names (docker-daemon:NAME).
	NameOnly
	// URLName is //NAME: an image a service names, written as a URL
	// (docker://NAME); the "//" is required.
	URLName
)

// Transport is one kind of place images are read from. The container
// transports are registered here; others (VM images) join with Register
// without touching them.
type Transport struct {
	Name string
	Form Form
	// Open opens the image ref names (ref.Transport is Name).
	Open func(ctx context.Context, ref Ref) (Image, error)
	// Write writes img where ref names (nil: images are not written
	// there). Whatever was there is replaced only once img is whole.
	Write func(ctx context.Context, img Layered, ref Ref) error
}

var (
	transportsMu sync.RWMutex
	// transports are in the order error messages list them. A slice, not
	// a map: it costs nothing at each start of pcocc.
	transports = []Transport{
		{DockerArchive, FileRef, func(_ context.Context, r Ref) (Image, error) { return asImage(openDockerArchive(r)) }, writeDockerArchive},
		{OCI, DirRef, openOCIDir, writeOCIDir},
		{OCIArchive, FileRef, openOCIArchive, writeOCIArchive},
		{DockerDaemon, NameOnly, func(ctx context.Context, r Ref) (Image, error) { return openDaemon(ctx, r.Ref) }, writeDaemon},
		{Docker, URLName, func(ctx context.Context, r Ref) (Image, error) { return openRegistry(ctx, r.Ref) }, nil},
		{SIF, FileOnly, func(_ context.Context, r Ref) (Image, error) { return openSIF(r.Path) }, nil},
	}
)

// Register adds a transport; a name taken already is a programming error.
func Register(t Transport) {
	transportsMu.Lock()
	defer transportsMu.Unlock()
	if slices.ContainsFunc(transports, func(k Transport) bool { return k.Name == t.Name }) {
		panic(fmt.Sprintf("imagesrc: transport %q registered twice", t.Name))
	}
	transports = append(transports, t)
}

// Write writes img where ref names, through its transport's Write.
func Write(ctx context.Context, img Layered, ref Ref) error {
	t, ok := Lookup(ref.Transport)
	if !ok || t.Write == nil {
		return fmt.Errorf("%w: export to %s", ErrNotSupported, ref.Transport)
	}
	return t.Write(ctx, img, ref)
}

// Lookup returns the transport called name.
func Lookup(name string) (Transport, bool) {
	transportsMu.RLock()
	defer transportsMu.RUnlock()
	for _, t := range transports {
		if t.Name == name {
			return t, true
		}
	}
	return Transport{}, false
}

// Transports lists the names of the transports ParseRef knows, in the
// order error messages give them.
func Transports() []string {
	transportsMu.RLock()
	defer transportsMu.RUnlock()
	names := make([]string, len(transports))
	for i, t := range transports {
		names[i] = t.Name
	}
	return names
}

func openOCIDir(_ context.Context, ref Ref) (Image, error) {
	if fi, err := os.Stat(ref.Path); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("%q is a file, not an OCI layout directory: a tar file is oci-archive:%s (or docker-archive:%s)", ref.Path, ref.Path, ref.Path)
	}
	return asImage(openOCI(dirStore{ref.Path}, ref, nopClose))
}

func openOCIArchive(_ context.Context, ref Ref) (Image, error) {
	st, err := openTarStore(ref.Path)
	if err != nil {
		return nil, err
	}
	img, err := openOCI(st, ref, st.close)
	if err != nil {
		st.close()
	}
	return asImage(img, err)
}

// asImage returns a nil Image (not one holding a nil pointer) on error.
func asImage(l *layered, err error) (Image, error) {
	if err != nil {
		return nil, err
	}
	return l, nil
}
