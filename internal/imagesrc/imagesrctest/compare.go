package imagesrctest

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Entry is what is compared of one file: the attributes a squashfs keeps.
type Entry struct {
	Type     string // dir, file, symlink, char, block, fifo
	Mode     fs.FileMode
	UID, GID int
	Size     int64 // regular files
	Link     string
	Group    string // hard links: the first path (sorted) of the group
}

// Tree maps a path ("a/b") to its entry.
type Tree map[string]Entry

// DirTree reads a directory tree from disk.
func DirTree(t testing.TB, root string) Tree {
	t.Helper()
	tree := Tree{}
	inodes := map[uint64][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		rel, _ := filepath.Rel(root, p)
		e := Entry{Mode: fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky),
			UID: int(st.Uid), GID: int(st.Gid)}
		switch m := fi.Mode(); {
		case m.IsDir():
			e.Type = "dir"
		case m.IsRegular():
			e.Type, e.Size = "file", fi.Size()
			if st.Nlink > 1 {
				inodes[st.Ino] = append(inodes[st.Ino], rel)
			}
		case m&fs.ModeSymlink != 0:
			e.Type = "symlink"
			e.Link, _ = os.Readlink(p)
		case m&fs.ModeNamedPipe != 0:
			e.Type = "fifo"
		case m&fs.ModeCharDevice != 0:
			e.Type = "char"
		case m&fs.ModeDevice != 0:
			e.Type = "block"
		}
		tree[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, paths := range inodes {
		group(tree, paths)
	}
	return tree
}

func group(tree Tree, paths []string) {
	if len(paths) < 2 {
		return
	}
	sort.Strings(paths)
	for _, p := range paths {
		e := tree[p]
		e.Group = paths[0]
		tree[p] = e
	}
}

// SquashfsTree reads a squashfs image back with sqfs2tar.
func SquashfsTree(t testing.TB, img string) Tree {
	t.Helper()
	out, err := exec.Command("sqfs2tar", img).Output()
	if err != nil {
		t.Fatalf("sqfs2tar %s: %v", img, err)
	}
	tree, err := TarTree(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

// TarTree reads a tar stream holding a root filesystem.
func TarTree(r io.Reader) (Tree, error) {
	tree := Tree{}
	links := map[string][]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		name := strings.Trim(filepath.Clean("/"+h.Name), "/")
		e := Entry{Mode: fs.FileMode(h.Mode & 0o777), UID: h.Uid, GID: h.Gid}
		e.Mode |= specialBits(h.Mode)
		switch h.Typeflag {
		case tar.TypeDir:
			e.Type = "dir"
		case tar.TypeReg:
			e.Type, e.Size = "file", h.Size
		case tar.TypeSymlink:
			e.Type, e.Link = "symlink", h.Linkname
		case tar.TypeChar:
			e.Type = "char"
		case tar.TypeBlock:
			e.Type = "block"
		case tar.TypeFifo:
			e.Type = "fifo"
		case tar.TypeLink:
			target := strings.Trim(filepath.Clean("/"+h.Linkname), "/")
			links[target] = append(links[target], name)
			continue
		default:
			return nil, fmt.Errorf("unexpected entry type %c for %q", h.Typeflag, name)
		}
		if name != "" {
			tree[name] = e
		}
	}
	for target, names := range links {
		for _, n := range names {
			tree[n] = tree[target]
		}
		group(tree, append(names, target))
	}
	return tree, nil
}

func specialBits(m int64) fs.FileMode {
	var f fs.FileMode
	if m&0o4000 != 0 {
		f |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		f |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		f |= fs.ModeSticky
	}
	return f
}

// Diff compares two trees, "" when equal.
func Diff(want, got Tree) string {
	return cmp.Diff(want, got)
}
