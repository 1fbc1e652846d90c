// Package sif reads the sif transport: a Singularity/Apptainer image file,
// whose system partition is a squashfs taken as it is and whose metadata
// (/.singularity.d) is read from it with pcocc's own squashfs reader.
package sif

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	sifimg "github.com/sylabs/sif/v2/pkg/sif"

	"github.com/pcocc/pcocc/internal/imagesrc"
	"github.com/pcocc/pcocc/internal/sqfsformat"
)

// Name is the transport's.
const Name = "sif"

// Open opens the Singularity/Apptainer image file ref.Path. Its primary
// system partition is a squashfs already: the importer copies it
// untouched, then reads the Apptainer metadata (/.singularity.d) out of
// the copy.
func Open(_ context.Context, ref imagesrc.Ref) (imagesrc.Image, error) {
	path := ref.Path
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%q is not a file", path)
	}
	fimg, err := sifimg.LoadContainer(readOnly{f}, sifimg.OptLoadWithCloseOnUnload(false))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%q is not a SIF file: %w", path, err)
	}
	part, labels, warns, err := sifParts(fimg, f, fi.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	root := &imagesrc.SquashfsRoot{
		Size: part.Size(),
		Open: func() (io.ReadCloser, error) {
			return io.NopCloser(io.NewSectionReader(f, part.Offset(), part.Size())), nil
		},
	}
	root.Config = sifConfig(labels, warns)
	return imagesrc.NewSquashfsImage(root, f.Close), nil
}

// readOnly lets the sif library load a file opened read-only: it never
// writes when it only loads.
type readOnly struct{ *os.File }

func (readOnly) Truncate(int64) error { return errors.New("read-only") }

// sifParts finds and checks the primary system partition; it also returns
// the labels of a JSON labels object and warnings about what is not kept.
func sifParts(fimg *sifimg.FileImage, f io.ReaderAt, fileSize int64) (sifimg.Descriptor, map[string]string, []string, error) {
	var warns []string
	if ds, _ := fimg.GetDescriptors(sifimg.WithDataType(sifimg.DataSignature)); len(ds) > 0 {
		warns = append(warns, "the SIF is signed: pcocc does not verify SIF signatures (check them with 'apptainer verify' first)")
	}
	part, err := fimg.GetDescriptor(sifimg.WithPartitionType(sifimg.PartPrimSys))
	if err != nil {
		return part, nil, nil, fmt.Errorf("no primary system partition in the SIF (it holds: %s)", sifObjects(fimg))
	}
	if err := checkSIFPart(part, f, fileSize); err != nil {
		return part, nil, nil, err
	}
	labels, err := sifLabels(fimg)
	if err != nil {
		warns = append(warns, err.Error())
	}
	return part, labels, warns, nil
}

func checkSIFPart(part sifimg.Descriptor, f io.ReaderAt, fileSize int64) error {
	fs, _, arch, err := part.PartitionMetadata()
	switch {
	case err != nil:
		return fmt.Errorf("reading the system partition's metadata: %w", err)
	case fs == sifimg.FsEncryptedSquashfs:
		return errors.New("the system partition is encrypted: pcocc cannot decrypt it (decrypt it with apptainer, then import the result)")
	case fs != sifimg.FsSquash:
		return fmt.Errorf("the system partition is %s, not squashfs", fs)
	case arch != "" && arch != "unknown" && arch != runtime.GOARCH:
		return fmt.Errorf("the system partition is built for %s, this machine is %s", arch, runtime.GOARCH)
	case part.Offset() < 0 || part.Size() <= 0 || part.Offset()+part.Size() > fileSize:
		return fmt.Errorf("the SIF is truncated: its system partition ends at byte %d, the file has %d bytes",
			part.Offset()+part.Size(), fileSize)
	}
	if _, err := sqfsformat.ReadSuperblock(io.NewSectionReader(f, part.Offset(), part.Size()), 0); err != nil {
		return fmt.Errorf("the system partition: %w", err)
	}
	return nil
}

// sifObjects lists the data objects of a SIF, for messages.
func sifObjects(fimg *sifimg.FileImage) string {
	var objs []string
	fimg.WithDescriptors(func(d sifimg.Descriptor) bool {
		s := d.DataType().String()
		if d.DataType() == sifimg.DataPartition {
			if fs, pt, _, err := d.PartitionMetadata(); err == nil {
				s += fmt.Sprintf(" (%s %s)", pt, fs)
			}
		}
		objs = append(objs, s)
		return false
	})
	if len(objs) == 0 {
		return "nothing"
	}
	return strings.Join(objs, ", ")
}

// sifLabels reads the SIF's JSON labels object, if any.
func sifLabels(fimg *sifimg.FileImage) (map[string]string, error) {
	d, err := fimg.GetDescriptor(sifimg.WithDataType(sifimg.DataLabels))
	if err != nil {
		return nil, nil
	}
	if d.Size() > imagesrc.MaxJSON {
		return nil, fmt.Errorf("ignoring the SIF's labels object: too large (%d bytes)", d.Size())
	}
	b, err := d.GetData()
	if err != nil {
		return nil, fmt.Errorf("ignoring the SIF's labels object: %w", err)
	}
	labels, err := decodeLabels(b)
	if err != nil {
		return nil, fmt.Errorf("ignoring the SIF's labels object: %w", err)
	}
	return labels, nil
}

// decodeLabels decodes a JSON object of labels; values that are not
// strings are kept as their JSON text.
func decodeLabels(b []byte) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("decoding labels: %w", err)
	}
	labels := make(map[string]string, len(raw))
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) != nil {
			s = string(v)
		}
		labels[k] = s
	}
	return labels, nil
}
