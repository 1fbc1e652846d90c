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

// kinds lists every kind Load reads, then those VM() reads.
var kinds = []Kind{KindRepositories, KindContainers, KindVMTemplates, KindResources, KindNetworks, KindBatch}

// kindFiles lists the files of kind k in dir: k.yaml first, then
// k.d/*.yaml sorted by name. Hidden files (editor leftovers) are skipped.
// A missing directory is not an error: most layers hold few files.
func kindFiles(dir string, k Kind) ([]string, error) {
	var files []string
	main := filepath.Join(dir, string(k)+".yaml")
	if _, err := os.Stat(main); err == nil {
		files = append(files, main)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{File: main, Msg: "reading configuration", Err: err}
	}
	sub := filepath.Join(dir, string(k)+".d")
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
		files = append(files, filepath.Join(sub, n))
	}
	return files, nil
}
