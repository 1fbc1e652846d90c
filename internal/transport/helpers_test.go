package transport

import (
	"context"
	"fmt"

	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/transport/dockerarchive"
	"github.com/pcocc/pcocc/internal/transport/dockerdaemon"
	"github.com/pcocc/pcocc/internal/transport/ocilayout"
	"github.com/pcocc/pcocc/internal/transport/registry"
	"github.com/pcocc/pcocc/internal/transport/sif"
)

// The transports' names, short for the tables of the tests.
const (
	DockerArchive = dockerarchive.Name
	OCI           = ocilayout.DirName
	OCIArchive    = ocilayout.ArchiveName
	DockerDaemon  = dockerdaemon.Name
	Docker        = registry.Name
	SIF           = sif.Name
)

// ref is the reference to the image r at path in the transport name.
func ref(name, path, r string) imagesrc.Ref {
	t, _ := Lookup(name)
	return imagesrc.Ref{Transport: name, Form: t.Form, Path: path, Ref: r}
}

// openLayered opens an image that must be a Layered one.
func openLayered(ctx context.Context, ref imagesrc.Ref) (imagesrc.Layered, error) {
	img, err := Open(ctx, ref)
	if err != nil {
		return nil, err
	}
	l, ok := img.(imagesrc.Layered)
	if !ok {
		img.Close()
		return nil, fmt.Errorf("%s: %T is not a Layered image", ref, img)
	}
	return l, nil
}
