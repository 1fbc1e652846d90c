package regclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/pcocc/pcocc/internal/digest"
)

// maxBlobTries is how many times a blob download is tried; after the first
// one, each try resumes where the previous one stopped (Range).
const maxBlobTries = 4

// blobReader reads a blob from the registry, resuming after a cut
// connection or a server error. The digest is checked by the spool.
type blobReader struct {
	ctx    context.Context
	c      *Client
	digest digest.Digest
	size   int64
	off    int64
	body   io.ReadCloser
	tries  int
	last   error
}

// Blob reads a blob of size bytes (-1: unknown), resuming after a cut
// connection or a server error; the caller checks its digest.
func (c *Client) Blob(ctx context.Context, d digest.Digest, size int64) io.ReadCloser {
	return &blobReader{ctx: ctx, c: c, digest: d, size: size}
}

func (b *blobReader) Read(p []byte) (int, error) {
	for {
		if b.body == nil {
			if err := b.open(); err != nil {
				return 0, err
			}
		}
		n, err := b.body.Read(p)
		b.off += int64(n)
		if err == io.EOF && (b.size < 0 || b.off == b.size) {
			return n, io.EOF
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err == nil || n > 0 {
			if err != nil {
				b.fail(err)
			}
			return n, nil
		}
		b.fail(err)
	}
}

// fail drops the connection; the next Read reopens it.
func (b *blobReader) fail(err error) {
	b.body.Close()
	b.body, b.last = nil, err
}

func (b *blobReader) Close() error {
	if b.body != nil {
		return b.body.Close()
	}
	return nil
}

// open (re)starts the download at b.off.
func (b *blobReader) open() error {
	for {
		if b.tries >= maxBlobTries {
			return fmt.Errorf("registry %s: download stopped at byte %d of %d after %d tries: %v",
				b.c.ref.registry, b.off, b.size, b.tries, b.last)
		}
		if b.tries > 0 {
			select {
			case <-time.After(b.c.retry << (b.tries - 1)):
			case <-b.ctx.Done():
				return b.ctx.Err()
			}
		}
		b.tries++
		body, err, retry := b.request()
		if err == nil {
			b.body = body
			return nil
		}
		if !retry {
			return err
		}
		b.last = err
	}
}

// request sends one GET from b.off; retry says whether an error may pass.
func (b *blobReader) request() (io.ReadCloser, error, bool) {
	hdr := http.Header{}
	if b.off > 0 {
		hdr.Set("Range", "bytes="+strconv.FormatInt(b.off, 10)+"-")
	}
	resp, err := b.c.get(b.ctx, b.c.url("blobs", string(b.digest)), hdr)
	if err != nil {
		return nil, err, b.ctx.Err() == nil
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent && b.off > 0:
		return resp.Body, nil, false
	case resp.StatusCode == http.StatusOK:
		// A server that ignores Range sends everything again: skip what we have.
		if _, err := io.CopyN(io.Discard, resp.Body, b.off); err != nil {
			resp.Body.Close()
			return nil, err, true
		}
		return resp.Body, nil, false
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		defer resp.Body.Close()
		return nil, b.c.statusError(resp, "blob "+string(b.digest)), true
	}
	defer resp.Body.Close()
	return nil, b.c.statusError(resp, "blob "+string(b.digest)), false
}
