package containerinit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/pcocc/pcocc/internal/container"
)

// writeIdentity makes /etc/passwd and /etc/group of the container know the
// user: the image's entries, less any that uses the user's name or id, plus
// the user and their primary group. The files are written in the overlay's
// upper layer; the image is not changed.
func writeIdentity(root *os.File, u container.User, warn func(string)) error {
	shell := u.Shell
	if shell == "" || !existsIn(root, shell) {
		shell = "/bin/sh"
	}
	files := []struct {
		name string
		gen  func([]byte) []byte
	}{
		{"etc/passwd", func(b []byte) []byte { return mergePasswd(b, u, shell) }},
		{"etc/group", func(b []byte) []byte { return mergeGroup(b, u) }},
	}
	if err := ensureDir(root, "/etc"); err != nil {
		return err
	}
	for _, f := range files {
		data := f.gen(readIn(root, f.name))
		err := writeIn(root, f.name, data)
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			err = bindOver(root, f.name, data)
		}
		if errors.Is(err, errNoTarget) {
			warn(fmt.Sprintf("the image has no /%s and its directory belongs to an image user who is neither you nor root: %s", f.name, unknownWhat(f.name)))
			continue
		}
		if err != nil {
			return fmt.Errorf("writing /%s: %w", f.name, err)
		}
	}
	return nil
}

var errNoTarget = errors.New("no file to cover")

// bindOver covers an image file that cannot be written with a copy in the
// scratch tmpfs. That happens when the file or its directory belongs to an
// image user other than root: such owners are not mapped in the user
// namespace, so even its root may not write there (or copy it up).
func bindOver(root *os.File, rel string, data []byte) error {
	target, err := openIn(root, rel, unix.O_PATH, 0)
	if errors.Is(err, unix.ENOENT) {
		return errNoTarget
	}
	if err != nil {
		return err
	}
	defer target.Close()
	src := filepath.Join(scratch, strings.ReplaceAll(rel, "/", "-"))
	if err := os.WriteFile(src, data, 0o644); err != nil {
		return err
	}
	return unix.Mount(src, fmt.Sprintf("/proc/self/fd/%d", target.Fd()), "", unix.MS_BIND, "")
}

func ensureDir(root *os.File, p string) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(root.Fd()), &st); err != nil {
		return err
	}
	f, err := ensureTarget(root, st.Dev, p, true)
	if err == nil {
		f.Close()
	}
	return err
}

func existsIn(root *os.File, p string) bool {
	f, err := openIn(root, strings.TrimPrefix(p, "/"), unix.O_PATH, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

func readIn(root *os.File, rel string) []byte {
	f, err := openIn(root, rel, unix.O_RDONLY, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 16<<20))
	return b
}

func writeIn(root *os.File, rel string, data []byte) error {
	f, err := openIn(root, rel, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// mergePasswd returns the image's passwd lines without those that name the
// user or use their uid, then the user's own line.
func mergePasswd(image []byte, u container.User, shell string) []byte {
	uid := strconv.Itoa(u.UID)
	var b bytes.Buffer
	for _, l := range lines(image) {
		f := strings.Split(l, ":")
		if len(f) > 2 && (f[0] == u.Name || f[2] == uid) {
			continue
		}
		b.WriteString(l + "\n")
	}
	fmt.Fprintf(&b, "%s:x:%d:%d:%s:%s:%s\n", u.Name, u.UID, u.GID, u.Name, u.Home, shell)
	return b.Bytes()
}

// mergeGroup does the same for the user's primary group.
func mergeGroup(image []byte, u container.User) []byte {
	gid := strconv.Itoa(u.GID)
	name := u.Group
	if name == "" {
		name = u.Name
	}
	var b bytes.Buffer
	for _, l := range lines(image) {
		f := strings.Split(l, ":")
		if len(f) > 2 && (f[0] == name || f[2] == gid) {
			continue
		}
		b.WriteString(l + "\n")
	}
	fmt.Fprintf(&b, "%s:x:%d:%s\n", name, u.GID, u.Name)
	return b.Bytes()
}

func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func unknownWhat(name string) string {
	if name == "etc/group" {
		return "your group's name is unknown in the container"
	}
	return "your name is unknown in the container"
}
