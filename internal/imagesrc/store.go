package imagesrc

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pcocc/pcocc/internal/digest"
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

// tarEntry is one member of an archive: a link, or a file found at an
// offset of an uncompressed archive, or (streamed archive) kept in memory
// or in the spool as it passed.
type tarEntry struct {
	off, size int64
	typ       byte
	link      string   // normalised target of a link
	data      []byte   // streamed: a small file's content
	spooled   *Spooled // streamed: a large file's blob
}

// tarStore is a layout inside a tar archive: a docker-archive or an
// oci-archive file, or the docker-archive an engine streams. A file is
// indexed once (headers only, data is skipped by seeking) and its members
// are read in place through io.SectionReader; a compressed file cannot be
// read at an offset: each open decompresses it again up to the member. A
// stream is read once, its members kept as they pass (see readStream).
type tarStore struct {
	file    *os.File // nil for a stream
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
	return s.scan(tar.NewReader(r), func(_ io.Reader, h *tar.Header, e *tarEntry) error {
		if s.comp != rootfs.Uncompressed {
			return nil
		}
		var err error
		if e.off, err = s.file.Seek(0, io.SeekCurrent); err != nil {
			return err
		}
		if e.off+e.size > fi.Size() {
			return fmt.Errorf("%q is truncated", h.Name)
		}
		return nil
	})
}

// scan reads the archive's headers into s.entries; keep records where a
// regular file's content is (it may read it from the reader it is given).
func (s *tarStore) scan(tr *tar.Reader, keep func(io.Reader, *tar.Header, *tarEntry) error) error {
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
		name := cleanMember(h.Name)
		e := tarEntry{size: h.Size, typ: h.Typeflag}
		switch h.Typeflag {
		case tar.TypeSymlink:
			e.link = path.Join(path.Dir(name), h.Linkname)
		case tar.TypeLink:
			e.link = cleanMember(h.Linkname)
		case tar.TypeReg:
			if err := keep(tr, h, &e); err != nil {
				return fmt.Errorf("reading archive %q: %w", s.name, err)
			}
		}
		s.entries[name] = e
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
	switch {
	case err != nil:
		return nil, 0, err
	case e.spooled != nil:
		rc, err := e.spooled.Open()
		return rc, e.spooled.Size, err
	case s.file == nil:
		return io.NopCloser(bytes.NewReader(e.data)), int64(len(e.data)), nil
	case s.comp == rootfs.Uncompressed:
		return io.NopCloser(io.NewSectionReader(s.file, e.off, e.size)), e.size, nil
	}
	rc, err := s.rescan(name)
	return rc, e.size, err
}

// knownDigest is the digest of a streamed member, computed as it passed;
// "" for a member of a file.
func (s *tarStore) knownDigest(name string) string {
	_, e, err := s.resolve(name)
	switch {
	case err != nil || s.file != nil:
		return ""
	case e.spooled != nil:
		return e.spooled.Digest
	}
	return string(digest.FromBytes(e.data))
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

func (s *tarStore) close() error {
	if s.file == nil {
		return nil
	}
	return s.file.Close()
}

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
