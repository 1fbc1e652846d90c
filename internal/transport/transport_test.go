package transport

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/imagesrc"
)

// TestRegister adds a transport the way VM sources join: ParseRef, String,
// IsFile and Open know it without the container transports changing.
func TestRegister(t *testing.T) {
	errVM := errors.New("a qcow2 image")
	var opened imagesrc.Ref
	Register(imagesrc.Transport{Name: "test-qcow2", Form: imagesrc.FileOnly, Open: func(_ context.Context, r imagesrc.Ref) (imagesrc.Image, error) {
		opened = r
		return nil, errVM
	}})
	r, err := ParseRef("test-qcow2:/images/a:b.qcow2")
	if err != nil || r.Path != "/images/a:b.qcow2" || r.Ref != "" || !r.IsFile() {
		t.Fatalf("ParseRef: %+v, %v", r, err)
	}
	if r.String() != "test-qcow2:/images/a:b.qcow2" {
		t.Errorf("String() = %q", r.String())
	}
	if _, err := Open(context.Background(), r); !errors.Is(err, errVM) || opened != r {
		t.Errorf("Open: %v, opened %+v", err, opened)
	}
	if !strings.Contains(strings.Join(Names(), " "), "test-qcow2") {
		t.Errorf("Names() = %q", Names())
	}
	defer func() {
		if recover() == nil {
			t.Error("a second registration of a name was accepted")
		}
	}()
	Register(imagesrc.Transport{Name: OCI})
}

func TestForms(t *testing.T) {
	for _, tt := range []struct {
		ref  string
		file bool
	}{
		{"docker-archive:a.tar", true}, {"oci-archive:a.tar:t", true}, {"sif:a.sif", true},
		{"oci:dir", false}, {"docker-daemon:busybox", false}, {"docker://busybox", false},
	} {
		r, err := ParseRef(tt.ref)
		if err != nil || r.IsFile() != tt.file || r.String() != tt.ref {
			t.Errorf("%s: %+v (IsFile %v, String %q), %v", tt.ref, r, r.IsFile(), r.String(), err)
		}
	}
}
