package imagesrc

import (
	"context"
	"fmt"

	"github.com/pcocc/pcocc/internal/digest"
)

func sha(b []byte) string { return string(digest.FromBytes(b)) }

// openLayered opens an image that must be a Layered one.
func openLayered(ctx context.Context, ref Ref) (Layered, error) {
	img, err := Open(ctx, ref)
	if err != nil {
		return nil, err
	}
	l, ok := img.(Layered)
	if !ok {
		img.Close()
		return nil, fmt.Errorf("%s: %T is not a Layered image", ref, img)
	}
	return l, nil
}
