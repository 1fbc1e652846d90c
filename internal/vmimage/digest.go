package vmimage

import (
	"io"
	"os"

	"github.com/pcocc/pcocc/internal/digest"
)

func fileDigest(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := digest.NewHasher()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return string(h.Digest()), nil
}
