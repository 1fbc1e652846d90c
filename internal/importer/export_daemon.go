package importer

import (
	"errors"
	"io"

	"github.com/pcocc/pcocc/internal/engine"
)

// toEngine loads the image into the Docker engine as ref: the
// docker-archive is generated as the engine reads it, never written to a
// file.
func (e *export) toEngine(ref string) error {
	eng, err := engine.New()
	if err != nil {
		return err
	}
	return e.streamTo(ref, func(r io.Reader) error { return eng.Load(e.ctx, r) })
}

// streamTo gives load the docker-archive as it is generated. It returns
// only once the generator has stopped: left running, it would still read
// the repository's blobs after its caller has unlocked the repository.
func (e *export) streamTo(ref string, load func(io.Reader) error) error {
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
