// Package nvidia finds the host's NVIDIA driver files for the nvidia module
// (`pcocc module generate nvidia`) and writes them in the generator output
// format of internal/modules.
//
// What is mounted, and where: the driver's user-space libraries, whose
// version must match the loaded kernel module, go to LibDir under every
// name the dynamic loader may look for (libcuda.so.1, libcuda.so, ...), and
// its tools to BinDir; LD_LIBRARY_PATH and PATH get those directories first.
// These are the directories the CUDA images already search (their
// LD_LIBRARY_PATH and PATH name /usr/local/nvidia), and a directory of our
// own never shadows a library of the image. Device nodes are not mounted:
// every container has the host's /dev, so /dev/nvidia* are there already;
// they are checked and listed as comments.
package nvidia

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pcocc/pcocc/internal/lazy"
)

// Where the driver's files appear in the container.
const (
	LibDir = "/usr/local/nvidia/lib64"
	BinDir = "/usr/local/nvidia/bin"
)

// ErrNoDriver says that no NVIDIA kernel driver is loaded on the node.
var ErrNoDriver = errors.New("no NVIDIA driver on this node")

// Options say where to look.
type Options struct {
	// Root is the root of the driver installation: "/" on a node; a
	// directory laid out like one (usr/lib/..., usr/bin, dev, proc) in tests.
	Root string
	// LDCache returns the output of `ldconfig -p`, the loader's cache; it
	// is used when Root is "/" (nil or failing: the library directories are
	// scanned instead).
	LDCache func() ([]byte, error)
}

// Driver is what Find found.
type Driver struct {
	Root    string
	Version string
	Libs    []File // Name: the name in LibDir
	Bins    []File // Name: the name in BinDir
	Devices []string
}

// File is a host file and the name it gets in the container.
type File struct {
	Name string
	Path string // the real file on the host (symbolic links resolved)
}

// Find looks for the loaded driver's version, libraries, tools and devices.
func Find(o Options) (*Driver, error) {
	if o.Root == "" {
		o.Root = "/"
	}
	d := &Driver{Root: o.Root}
	v, err := version(o.Root)
	if err != nil {
		return nil, err
	}
	d.Version = v
	if d.Libs, err = libraries(o, v); err != nil {
		return nil, err
	}
	d.Bins = binaries(o.Root)
	if d.Devices, err = devices(o.Root); err != nil {
		return nil, err
	}
	return d, nil
}

// version reads the loaded kernel module's version.
func version(root string) (string, error) {
	proc := filepath.Join(root, "proc/driver/nvidia/version")
	if b, err := os.ReadFile(proc); err == nil {
		if v := parseVersion(string(b)); v != "" {
			return v, nil
		}
		return "", fmt.Errorf("reading the NVIDIA driver version: no version in %s", proc)
	}
	if b, err := os.ReadFile(filepath.Join(root, "sys/module/nvidia/version")); err == nil {
		if v := strings.TrimSpace(string(b)); versionRe().MatchString(v) {
			return v, nil
		}
	}
	return "", fmt.Errorf("%w: %s does not exist (the nvidia kernel module is not loaded)", ErrNoDriver, proc)
}

var versionRe = lazy.Regexp(`^[0-9]+(\.[0-9]+)+$`)

// parseVersion finds the version in /proc/driver/nvidia/version:
// "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb ...".
func parseVersion(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(line, "NVRM version:") {
			continue
		}
		for _, w := range strings.Fields(line) {
			if versionRe().MatchString(w) {
				return w
			}
		}
	}
	return ""
}

// devices lists the device nodes; /dev/nvidiactl must be there for any
// GPU to be usable.
func devices(root string) ([]string, error) {
	var out []string
	for _, pat := range []string{"dev/nvidia*", "dev/nvidia-caps/*"} {
		m, _ := filepath.Glob(filepath.Join(root, pat))
		for _, p := range m {
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	ctl := filepath.Join(root, "dev/nvidiactl")
	if _, err := os.Stat(ctl); err != nil {
		return nil, fmt.Errorf("the NVIDIA driver is loaded but %s is missing: %w", ctl, err)
	}
	return out, nil
}

// binaries finds the driver's tools; a missing one is not an error (sites
// do not all install the persistence daemon or MPS).
func binaries(root string) []File {
	var out []File
	for _, name := range []string{"nvidia-smi", "nvidia-debugdump", "nvidia-persistenced",
		"nvidia-cuda-mps-control", "nvidia-cuda-mps-server"} {
		for _, dir := range []string{"usr/bin", "bin", "usr/sbin", "sbin", "usr/local/bin"} {
			p, err := filepath.EvalSymlinks(filepath.Join(root, dir, name))
			if fi, serr := os.Stat(p); err == nil && serr == nil && fi.Mode().IsRegular() {
				out = append(out, File{Name: name, Path: p})
				break
			}
		}
	}
	return out
}

// Write prints d in the generator output format.
func (d *Driver) Write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# NVIDIA driver %s (root %s)\n", d.Version, d.Root)
	for _, f := range d.Libs {
		if err := mountLine(&b, f, LibDir); err != nil {
			return err
		}
	}
	for _, f := range d.Bins {
		if err := mountLine(&b, f, BinDir); err != nil {
			return err
		}
	}
	fmt.Fprintf(&b, "env pp(LD_LIBRARY_PATH)=%s\n", LibDir)
	if len(d.Bins) > 0 {
		fmt.Fprintf(&b, "env pp(PATH)=%s\n", BinDir)
	}
	for _, dev := range d.Devices {
		fmt.Fprintf(&b, "# device %s: the container has the host's /dev\n", dev)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mountLine(b *strings.Builder, f File, dir string) error {
	if strings.ContainsAny(f.Path, ",\n") {
		return fmt.Errorf("cannot mount %q: a ',' or a newline in the path", f.Path)
	}
	fmt.Fprintf(b, "mount src=%s,dst=%s,ro\n", f.Path, filepath.Join(dir, f.Name))
	return nil
}
