//go:build !pcocc_launcher

package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pcocc/pcocc/internal/imageref"
	"github.com/pcocc/pcocc/internal/transport/dockerarchive"
	"github.com/pcocc/pcocc/internal/transport/ocilayout"
	"github.com/pcocc/pcocc/internal/transport/sif"
)

// sourceHint explains a run target that is a mount spec (docker's -v is
// pcocc's --verbose, so "-v SRC:DST IMG" leaves SRC:DST in the image's
// place) or an image file without its transport: how to run it (a
// transport reference runs from the cache of sources) or import it. It
// returns nil for anything else.
func sourceHint(target string) error {
	if m := mountSpecHint(target); m != "" {
		return fmt.Errorf("%q is not an image: pcocc's -v is --verbose, not a volume%s", target, m)
	}
	if !looksLikeFile(target) {
		return nil
	}
	src := guessTransport(target) + ":" + target
	name := importName(target)
	return fmt.Errorf("%q is an image file, not the name of an image: run it as 'pcocc run %s' (imported once into your cache), or import it by name: 'pcocc image import %s %s', then 'pcocc run %s'",
		target, src, src, name, name)
}

// guessTransport names the transport of a file from its name: a SIF by its
// extension, a tar as docker-archive (image import says when it is an OCI
// archive), anything else an OCI layout directory.
func guessTransport(path string) string {
	switch {
	case strings.HasSuffix(path, ".sif"), strings.HasSuffix(path, ".simg"):
		return sif.Name
	case strings.HasSuffix(path, ".tar"), strings.HasSuffix(path, ".tar.gz"), strings.HasSuffix(path, ".tgz"):
		return dockerarchive.Name
	}
	return ocilayout.DirName
}

// importName proposes an image name from a source: its last path element
// without extension or tag ("./lolcow_latest.sif" -> "lolcow_latest").
func importName(src string) string {
	base := filepath.Base(strings.TrimRight(src, "/"))
	if i := strings.IndexAny(base, ":@"); i > 0 {
		base = base[:i]
	}
	for _, ext := range []string{".tar.gz", ".tgz", ".tar", ".sif", ".simg", ".sqfs", ".squashfs"} {
		base = strings.TrimSuffix(base, ext)
	}
	if imageref.ValidateName(base) != nil {
		return "NAME"
	}
	return base
}
