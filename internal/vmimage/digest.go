package vmimage

import (
	"os"

	"github.com/pcocc/pcocc/internal/digest"
)

func fileDigest(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	d, err := digest.FromReader(f)
	return string(d), err
}
