package sqfuse

import (
	"context"
	"io"
	"os"
)

// InProcess serves and unpacks images in the calling process: what pcocc's
// full program gives a launch (runtime.Options.Images). It is a value the
// caller passes, not something the launch core imports, so that the
// launcher links go-fuse and the decompressors only where it uses them
// (docs/architecture.md, "Start").
type InProcess struct{}

// ServeSent is the package's ServeSent.
func (InProcess) ServeSent(image *os.File, name string, sock, setupLog *os.File, runLog io.Writer) error {
	return ServeSent(image, name, sock, setupLog, runLog)
}

// Extract unpacks the squashfs file image into the empty directory dirfd,
// writing at most limit bytes (see Image.Unpack; ErrFormat, ErrLimit).
func (InProcess) Extract(ctx context.Context, image *os.File, dirfd int, limit int64) error {
	img, err := Open(image, 0)
	if err != nil {
		return err
	}
	return img.Unpack(ctx, dirfd, limit)
}
