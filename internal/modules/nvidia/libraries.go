package nvidia

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// driverLibs are the name prefixes of the driver's user-space libraries:
// the ones versioned with the kernel module (libnvidia-ml.so.550.54.14).
// The loader-neutral ones (libOpenCL, libGLX, libEGL: vendor dispatch) are
// the image's business.
var driverLibs = []string{
	"libcuda.so", "libcudadebugger.so", "libnvidia-", "libnvcuvid.so", "libnvoptix.so",
	"libGLX_nvidia.so", "libEGL_nvidia.so", "libGLESv2_nvidia.so", "libGLESv1_CM_nvidia.so",
}

// libraries finds the driver's libraries of version v: each name the
// loader knows (from its cache on "/", from the library directories of
// another root), kept when its real file is NAME.so.v.
func libraries(o Options, v string) ([]File, error) {
	cands := cacheEntries(o)
	if cands == nil {
		cands = scanDirs(o.Root)
	}
	seen := map[string]bool{}
	var out []File
	for _, c := range cands {
		if seen[c.Name] || !isDriverLib(c.Name) {
			continue
		}
		real, err := filepath.EvalSymlinks(c.Path)
		if err != nil || !strings.HasSuffix(filepath.Base(real), ".so."+v) {
			continue // a leftover of another driver version, or a dangling link
		}
		seen[c.Name] = true
		out = append(out, File{Name: c.Name, Path: real})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if !seen["libcuda.so.1"] {
		return nil, fmt.Errorf("the NVIDIA driver %s is loaded but libcuda.so.1 of that version is not installed under %s (driver libraries: %d found)",
			v, o.Root, len(out))
	}
	return out, nil
}

func isDriverLib(name string) bool {
	for _, p := range driverLibs {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// cacheEntries reads the loader's cache, native architecture only; nil
// when it cannot be used.
func cacheEntries(o Options) []File {
	if o.Root != "/" || o.LDCache == nil {
		return nil
	}
	b, err := o.LDCache()
	if err != nil {
		return nil
	}
	return ParseLDCache(string(b), nativeTag())
}

// ParseLDCache parses `ldconfig -p`:
//
//	libcuda.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libcuda.so.1
//
// keeping the entries whose flags hold tag ("" keeps all).
func ParseLDCache(s, tag string) []File {
	var out []File
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		left, path, ok := strings.Cut(sc.Text(), " => ")
		if !ok {
			continue
		}
		name, flags, _ := strings.Cut(strings.TrimSpace(left), " ")
		if tag != "" && !strings.Contains(flags, tag) {
			continue
		}
		out = append(out, File{Name: name, Path: strings.TrimSpace(path)})
	}
	return out
}

// nativeTag is the ldconfig flag of this architecture's libraries (the
// cache also lists 32-bit ones).
func nativeTag() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86-64"
	case "arm64":
		return "AArch64"
	case "ppc64le":
		return "64bit"
	}
	return ""
}

// scanDirs lists the files and links of root's library directories.
func scanDirs(root string) []File {
	var out []File
	for _, dir := range libDirs() {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			continue
		}
		for _, e := range entries {
			out = append(out, File{Name: e.Name(), Path: filepath.Join(root, dir, e.Name())})
		}
	}
	return out
}

func libDirs() []string {
	multiarch := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", "ppc64le": "powerpc64le-linux-gnu"}
	dirs := []string{"usr/lib64", "lib64", "usr/lib", "lib"}
	if m, ok := multiarch[runtime.GOARCH]; ok {
		dirs = append([]string{"usr/lib/" + m, "lib/" + m}, dirs...)
	}
	return dirs
}
