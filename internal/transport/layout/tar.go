package layout

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/pcocc/pcocc/internal/digest"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/rootfs"
)

// tarEntry is one member of an archive: a link, or a file found at an
// offset of an uncompressed archive, or (streamed archive) kept in memory
// or in the spool as it passed.
type tarEntry struct {
	off, size int64
	typ       byte
	link      string            // normalised target of a link
	data      []byte            // streamed: a small file's content
	spooled   *imagesrc.Spooled // streamed: a large file's blob
}

// Tar is a layout inside a tar archive: a docker-archive or an
// oci-archive file, or the docker-archive an engine streams. A file is
// indexed once (headers only, data is skipped by seeking) and its members
// are read in place through io.SectionReader; a compressed file cannot be
// read at an offset: each open decompresses it again up to the member. A
// stream is read once, its members kept as they pass (see ReadStream).
type Tar struct {
	file    *os.File // nil for a stream
	name    string
	comp    rootfs.Compression
	entries map[string]tarEntry
}

// OpenTar indexes the archive file name.
func OpenTar(name string) (*Tar, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	s := &Tar{file: f, name: name, entries: map[string]tarEntry{}}
	if err := s.index(); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

func (s *Tar) index() error {
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
func (s *Tar) scan(tr *tar.Reader, keep func(io.Reader, *tar.Header, *tarEntry) error) error {
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
func (s *Tar) resolve(name string) (string, tarEntry, error) {
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

// Open opens the member name, following links inside the archive.
func (s *Tar) Open(name string) (io.ReadCloser, int64, error) {
	name, e, err := s.resolve(name)
	switch {
	case err != nil:
		return nil, 0, err
	case e.spooled != nil:
		rc, err := e.spooled.Open()
		return rc, e.spooled.Size, err
	case s.file == nil:
		return memFile(e.data)
	case s.comp == rootfs.Uncompressed:
		return io.NopCloser(io.NewSectionReader(s.file, e.off, e.size)), e.size, nil
	}
	rc, err := s.rescan(name)
	return rc, e.size, err
}

// KnownDigest is the digest of a streamed member, computed as it passed;
// "" for a member of a file.
func (s *Tar) KnownDigest(name string) digest.Digest {
	_, e, err := s.resolve(name)
	switch {
	case err != nil || s.file != nil:
		return ""
	case e.spooled != nil:
		return e.spooled.Digest
	}
	return digest.FromBytes(e.data)
}

// OpenArchive opens the image that read finds in the archive file path;
// closing the image closes the file.
func OpenArchive(path string, read func(*Tar) (imagesrc.Parts, error)) (imagesrc.Image, error) {
	st, err := OpenTar(path)
	if err != nil {
		return nil, err
	}
	p, err := read(st)
	if err != nil {
		st.Close()
		return nil, err
	}
	p.Close = st.Close
	return imagesrc.NewLayered(p), nil
}

// Name is the archive's, for messages.
func (s *Tar) Name() string { return s.name }

// Has says whether the archive holds a member called name.
func (s *Tar) Has(name string) bool {
	_, ok := s.entries[cleanMember(name)]
	return ok
}

// rescan decompresses the archive again up to the named file.
func (s *Tar) rescan(name string) (io.ReadCloser, error) {
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

// Close closes the archive file.
func (s *Tar) Close() error {
	if s.file == nil {
		return nil
	}
	return s.file.Close()
}

// Limits on the docker-archive an engine streams: files up to spoolAbove
// bytes (manifests, configurations, small layers) are kept in memory, up to
// maxInMemory in all; larger ones go to the spool as they pass.
const (
	spoolAbove  = 1 << 20
	maxInMemory = 64 << 20
)

// ReadStream keeps the members of a streamed docker-archive: files up to
// spoolAbove bytes in memory, larger ones in the spool.
func ReadStream(r io.Reader, sp imagesrc.Spool) (*Tar, error) {
	st := &Tar{name: "the engine's export", entries: map[string]tarEntry{}}
	var inMemory int64
	err := st.scan(tar.NewReader(r), func(member io.Reader, h *tar.Header, e *tarEntry) error {
		if h.Size > spoolAbove {
			s, err := sp.Put(member, "")
			if err != nil {
				return fmt.Errorf("%q: %w", h.Name, err)
			}
			e.spooled = &s
			return nil
		}
		if inMemory += h.Size; inMemory > maxInMemory {
			return fmt.Errorf("more than %d bytes of small files", maxInMemory)
		}
		var err error
		e.data, err = io.ReadAll(member)
		return err
	})
	return st, err
}
