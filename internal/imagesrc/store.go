package imagesrc

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pcocc/pcocc/internal/rootfs"
)

// store gives access to the files of an image layout kept in a directory or
// in a tar archive.
type store interface {
	// open returns a file's content and size; a missing file gives an
	// error matching fs.ErrNotExist.
	open(name string) (io.ReadCloser, int64, error)
	close() error
}

// dirStore is a layout in a directory. Callers only pass names they built
// from validated digests.
type dirStore struct{ root string }

func (d dirStore) open(name string) (io.ReadCloser, int64, error) {
	f, err := os.Open(filepath.Join(d.root, filepath.FromSlash(name)))
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%q is not a regular file", name)
	}
	return f, fi.Size(), nil
}

func (d dirStore) close() error { return nil }

type tarEntry struct {
	off, size int64
	typ       byte
	link      string // normalised target of a link
}

// tarStore is a layout inside a tar archive. An uncompressed archive is
// indexed once (headers only, data is skipped by seeking) and its files are
// read in place through io.SectionReader. A compressed archive cannot be
// read at an offset: each open decompresses it again up to the file.
type tarStore struct {
	file    *os.File
	name    string
	comp    rootfs.Compression
	entries map[string]tarEntry
}

func openTarStore(name string) (*tarStore, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	s := &tarStore{file: f, name: name, entries: map[string]tarEntry{}}
	if err := s.index(); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

func (s *tarStore) index() error {
	fi, err := s.file.Stat()
	switch {
	case err != nil:
		return err
	case fi.IsDir():
		return fmt.Errorf("%q is a directory, not an archive", s.name)
	case fi.Size() == 0:
		return fmt.Errorf("%q is empty", s.name)
	}
	head := make([]byte, 8)
	n, _ := s.file.ReadAt(head, 0)
	s.comp = rootfs.Detect(head[:n])
	var r io.Reader = s.file
	if s.comp != rootfs.Uncompressed {
		dr, err := rootfs.Decompress(s.file)
		if err != nil {
			return fmt.Errorf("reading %q: %w", s.name, err)
		}
		defer dr.Close()
		r = dr
	}
	return s.scan(tar.NewReader(r), fi.Size())
}

func (s *tarStore) scan(tr *tar.Reader, size int64) error {
	for first := true; ; first = false {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) && !first {
			return nil
		}
		if err != nil {
			if first {
				return fmt.Errorf("%q is not a tar archive", s.name)
			}
			return fmt.Errorf("reading archive %q: %w", s.name, err)
		}
		e := tarEntry{size: h.Size, typ: h.Typeflag}
		if s.comp == rootfs.Uncompressed {
			if e.off, err = s.file.Seek(0, io.SeekCurrent); err != nil {
				return err
			}
			if e.off+e.size > size {
				return fmt.Errorf("reading archive %q: %q is truncated", s.name, h.Name)
			}
		}
		if h.Typeflag == tar.TypeSymlink {
			e.link = path.Join(path.Dir(cleanMember(h.Name)), h.Linkname)
		} else if h.Typeflag == tar.TypeLink {
			e.link = cleanMember(h.Linkname)
		}
		s.entries[cleanMember(h.Name)] = e
	}
}

func cleanMember(n string) string {
	return strings.TrimPrefix(path.Clean("/"+n), "/")
}

// resolve follows links inside the archive (podman writes <id>/layer.tar
// as a symbolic link to <digest>.tar).
func (s *tarStore) resolve(name string) (string, tarEntry, error) {
	name = cleanMember(name)
	for range 16 {
		e, ok := s.entries[name]
		switch {
		case !ok:
			return "", e, fmt.Errorf("%q: %w", name, fs.ErrNotExist)
		case e.typ == tar.TypeSymlink || e.typ == tar.TypeLink:
			name = cleanMember(e.link)
		case e.typ == tar.TypeReg:
			return name, e, nil
		default:
			return "", e, fmt.Errorf("%q is not a regular file", name)
		}
	}
	return "", tarEntry{}, fmt.Errorf("%q: too many levels of links", name)
}

func (s *tarStore) open(name string) (io.ReadCloser, int64, error) {
	name, e, err := s.resolve(name)
	if err != nil {
		return nil, 0, err
	}
	if s.comp == rootfs.Uncompressed {
		return io.NopCloser(io.NewSectionReader(s.file, e.off, e.size)), e.size, nil
	}
	rc, err := s.rescan(name)
	return rc, e.size, err
}

// rescan decompresses the archive again up to the named file.
func (s *tarStore) rescan(name string) (io.ReadCloser, error) {
	dr, err := rootfs.Decompress(io.NewSectionReader(s.file, 0, 1<<62))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(dr)
	for {
		h, err := tr.Next()
		if err != nil {
			dr.Close()
			return nil, fmt.Errorf("reading archive %q: %w", s.name, err)
		}
		if cleanMember(h.Name) == name {
			return readCloser{tr, dr.Close}, nil
		}
	}
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

func (s *tarStore) close() error { return s.file.Close() }

// maxJSON bounds the manifests and configurations read in memory.
const maxJSON = 32 << 20

// readSmall reads a whole (small) file of the store.
func readSmall(st store, name string) ([]byte, error) {
	rc, size, err := st.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > maxJSON {
		return nil, fmt.Errorf("%q is too large (%d bytes)", name, size)
	}
	return io.ReadAll(io.LimitReader(rc, maxJSON))
}
