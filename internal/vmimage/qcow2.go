package vmimage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// The qcow2 header fields checkLayer reads (docs/interop/qcow2.txt of qemu).
const (
	qcow2Magic       = 0x514649fb // "QFI\xfb"
	qcow2HeaderLen   = 104        // version 3 header; version 2 has 72 bytes
	incompatDataFile = 1 << 2     // the data lives in an external file
	maxBackingName   = 1023       // qemu's own limit
)

// readBacking returns the backing file name of the qcow2 layer at p ("":
// none), refusing a file that is not a qcow2 layer of its own: reached
// through a symbolic link, not qcow2, or keeping its data in an external
// file. Whoever can write a repository shared with others could otherwise
// point a layer at any file (/home/USER/.ssh/id_ed25519, as raw): the VM of
// a user who boots the image would read that user's file, and its guest
// could send it anywhere.
func readBacking(p string) (string, error) {
	// Not through a symbolic link: a blob is a file of the repository, not
	// a pointer to one of the reader's.
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := make([]byte, qcow2HeaderLen)
	if _, err := io.ReadFull(f, h[:72]); err != nil {
		return "", errors.New("not a qcow2 file (too short)")
	}
	be := binary.BigEndian
	if be.Uint32(h) != qcow2Magic {
		return "", errors.New("not a qcow2 file")
	}
	version := be.Uint32(h[4:])
	if version == 3 {
		if _, err := io.ReadFull(f, h[72:]); err != nil {
			return "", errors.New("truncated qcow2 header")
		}
		if be.Uint64(h[72:])&incompatDataFile != 0 {
			return "", errors.New("its data is in an external file")
		}
	} else if version != 2 {
		return "", fmt.Errorf("qcow2 version %d", version)
	}
	off, size := be.Uint64(h[8:]), be.Uint32(h[16:])
	if off == 0 || size == 0 {
		return "", nil
	}
	if size > maxBackingName {
		return "", errors.New("backing file name too long")
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, int64(off)); err != nil {
		return "", fmt.Errorf("reading its backing file name: %w", err)
	}
	return string(b), nil
}

// backedBy reports whether a layer at p whose backing file name is name
// reads parent (a path; "" for no backing file): a relative name that
// leads from p's directory to parent, as pcocc's bare HEX and the
// original pcocc's ../../data/XX/HEX do.
func backedBy(p, name, parent string) bool {
	if name == "" || parent == "" {
		return name == parent
	}
	return !filepath.IsAbs(name) && !strings.Contains(name, ":") && filepath.Join(filepath.Dir(p), name) == parent
}

// checkChain verifies every layer of a revision: the base has no backing
// file, each other one is backed by the previous one.
func (v *Revision) checkChain() error {
	parent := ""
	for _, d := range v.Layers {
		p, err := v.Image.Repo.BlobPath(d)
		if err != nil {
			return err
		}
		name, err := readBacking(p)
		if err == nil && !backedBy(p, name, parent) {
			err = fmt.Errorf("its backing file is %q, not %q", name, parent)
		}
		if err != nil {
			return fmt.Errorf("%s: layer %s is not usable: %w", v.Ref(), p, err)
		}
		parent = p
	}
	return nil
}
