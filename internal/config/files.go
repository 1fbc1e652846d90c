package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Kind is a kind of configuration; its value is the base name of its files
// (KindRepositories: repositories.yaml and repositories.d/*.yaml).
type Kind string

const (
	KindRepositories Kind = "repositories"
	KindContainers   Kind = "containers"
)

// VM configuration kinds. templates.yaml (+ templates.d/) is read from every
// layer; the others describe the node (networks, batch manager) and are read
// only from the system directory: a user cannot give themselves a network.
const (
	KindVMTemplates Kind = "templates"
	KindResources   Kind = "resources"
	KindNetworks    Kind = "networks"
	KindBatch       Kind = "batch"
)

// kinds lists every kind Load reads, then those VM() reads.
var kinds = []Kind{KindRepositories, KindContainers, KindVMTemplates, KindResources, KindNetworks, KindBatch}

// kindFiles lists the files of kind k in dir: k.yaml first, then
// k.d/*.yaml sorted by name. Hidden files (editor leftovers) are skipped.
// A missing directory is not an error: most layers hold few files.
//
// rec (nil: none) notes each path looked at, before it is read.
func kindFiles(dir string, k Kind, rec *recorder) ([]string, error) {
	var files []string
	main := filepath.Join(dir, string(k)+".yaml")
	rec.stat(main)
	if _, err := os.Stat(main); err == nil {
		files = append(files, main)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{File: main, Msg: "reading configuration", Err: err}
	}
	sub := filepath.Join(dir, string(k)+".d")
	rec.stat(sub)
	entries, err := os.ReadDir(sub)
	if errors.Is(err, fs.ErrNotExist) {
		return files, nil
	}
	if err != nil {
		return files, &Error{File: sub, Msg: "reading configuration directory", Err: err}
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yaml") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		rec.stat(filepath.Join(sub, n))
		files = append(files, filepath.Join(sub, n))
	}
	return files, nil
}
