package importer

import (
	"io"

	"github.com/pcocc/pcocc/internal/imagesrc"
)

// toEngine loads the image into the Docker engine as ref: the
// docker-archive is generated as the engine reads it, never written to a
// file.
func (e *export) toEngine(ref string) error {
	eng, err := imagesrc.NewEngine()
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(e.dockerArchive(pw, ref)) }()
	err = eng.Load(e.ctx, pr)
	pr.CloseWithError(errLoadStopped) // stops the writer if the engine gave up early
	return err
}
