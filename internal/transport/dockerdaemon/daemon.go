// Package dockerdaemon reads and writes the docker-daemon transport: the
// images of a Docker engine (internal/engine), exported and loaded as the
// docker-archive stream dockerarchive reads and writes.
package dockerdaemon

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pcocc/pcocc/internal/engine"
	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/transport/dockerarchive"
	"github.com/pcocc/pcocc/internal/transport/layout"
)

// Name is the transport's.
const Name = "docker-daemon"

// Open opens the engine's image ref.Ref. The engine's export is a
// docker-archive stream whose manifest.json comes last (docker writes the
// archive in name order: layer directories, then manifest.json), so each
// layer is stored in the spool as it passes, then the image is flattened
// from the stored blobs: no temporary tar file.
func Open(ctx context.Context, ref imagesrc.Ref) (imagesrc.Image, error) {
	name := ref.Ref
	eng, err := engine.New()
	if err != nil {
		return nil, err
	}
	info, err := eng.Inspect(ctx, name)
	if err != nil {
		return nil, err
	}
	fetch := func(ctx context.Context, sp imagesrc.Spool) (imagesrc.Layered, error) {
		sp.Expect(info.Size, len(info.RootFS.Layers))
		rc, err := eng.Save(ctx, info.ID)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		st, err := layout.ReadStream(rc, sp)
		if err != nil {
			return nil, fmt.Errorf("reading the engine's export of %q: %w", name, err)
		}
		p, err := dockerarchive.Read(st, imagesrc.Ref{Transport: Name, Form: imagesrc.NameOnly})
		if err != nil {
			return nil, fmt.Errorf("reading the engine's export of %q: %w", name, err)
		}
		if p.ConfigDigest != info.ID {
			return nil, fmt.Errorf("the engine's export of %q: the configuration does not match the image ID %s", name, info.ID)
		}
		return imagesrc.NewLayered(p), nil
	}
	return imagesrc.NewStreamed(info.ID, fetch), nil
}

// Write loads img into the Docker engine as ref.Ref: the docker-archive is
// generated as the engine reads it, never written to a file.
func Write(ctx context.Context, img imagesrc.Layered, ref imagesrc.Ref) error {
	eng, err := engine.New()
	if err != nil {
		return err
	}
	e := &layout.Writer{Ctx: ctx, Img: img}
	return streamTo(e, ref.Ref, func(r io.Reader) error { return eng.Load(ctx, r) })
}

// errLoadStopped is what the archive generator gets when the engine stops
// reading.
var errLoadStopped = errors.New("the Docker engine stopped reading")

// streamTo gives load the docker-archive as it is generated. It returns
// only once the generator has stopped: left running, it would still read
// the repository's blobs after its caller has unlocked the repository.
func streamTo(e *layout.Writer, ref string, load func(io.Reader) error) error {
	pr, pw := io.Pipe()
	wrote := make(chan error, 1)
	go func() {
		err := dockerarchive.Generate(e, pw, ref)
		pw.CloseWithError(err)
		wrote <- err
	}()
	err := load(pr)
	pr.CloseWithError(errLoadStopped) // stops the writer if the engine gave up early
	werr := <-wrote
	if err == nil && werr != nil && !errors.Is(werr, errLoadStopped) {
		return werr // the engine took an archive that was cut short
	}
	return err
}
