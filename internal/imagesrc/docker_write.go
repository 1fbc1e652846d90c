package imagesrc

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/pcocc/pcocc/internal/engine"
)

// writeDockerArchive writes img to the file ref.Path, tagged ref.Ref,
// under a temporary name renamed at the end.
func writeDockerArchive(ctx context.Context, img Layered, ref Ref) error {
	e := &writer{ctx: ctx, img: img}
	return writeAtomically(ref.Path, func(w io.Writer) error { return e.dockerArchive(w, ref.Ref) })
}

// dockerArchive writes the layout of `docker save` / `podman save`: layers
// named <digest>.tar (docker load takes compressed ones too).
func (e *writer) dockerArchive(w io.Writer, ref string) error {
	tw := tar.NewWriter(w)
	var layers []string
	for _, l := range e.img.Layers() {
		layers = append(layers, l.Digest)
	}
	m := NewDockerManifest(e.img.ConfigDigest(), layers, ref)
	if err := e.tarBlobs(tw, DockerBlobName, ".tar"); err != nil {
		return err
	}
	mj, _ := json.Marshal([]DockerManifest{m})
	if err := tarFile(tw, "manifest.json", mj); err != nil {
		return err
	}
	return tw.Close()
}

// writeDaemon loads img into the Docker engine as ref.Ref: the
// docker-archive is generated as the engine reads it, never written to a
// file.
func writeDaemon(ctx context.Context, img Layered, ref Ref) error {
	eng, err := engine.New()
	if err != nil {
		return err
	}
	e := &writer{ctx: ctx, img: img}
	return e.streamTo(ref.Ref, func(r io.Reader) error { return eng.Load(ctx, r) })
}

// errLoadStopped is what the archive generator gets when the engine stops
// reading.
var errLoadStopped = errors.New("the Docker engine stopped reading")

// streamTo gives load the docker-archive as it is generated. It returns
// only once the generator has stopped: left running, it would still read
// the repository's blobs after its caller has unlocked the repository.
func (e *writer) streamTo(ref string, load func(io.Reader) error) error {
	pr, pw := io.Pipe()
	wrote := make(chan error, 1)
	go func() {
		err := e.dockerArchive(pw, ref)
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
