package vmimage

import (
	"os"

	"github.com/pcocc/pcocc/internal/digest"
)

func fileDigest(p string) (digest.Digest, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	return digest.FromReader(f)
}
