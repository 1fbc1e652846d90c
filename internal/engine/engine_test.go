package engine

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	t.Setenv("DOCKER_HOST", "")
	if e, err := New(); err != nil || !strings.Contains(e.Where(), DefaultDockerHost) {
		t.Errorf("default engine: %v", err)
	}
	t.Setenv("DOCKER_HOST", "ssh://host")
	if _, err := New(); err == nil || !strings.Contains(err.Error(), "only unix:// and tcp://") {
		t.Errorf("ssh:// accepted: %v", err)
	}
	sock := filepath.Join(t.TempDir(), "none.sock")
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	e, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Inspect(context.Background(), "busybox"); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), sock) {
		t.Errorf("unreachable: %v", err)
	}
}

func TestEscapeName(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":             "busybox",
		"reg:5000/a/b:tag":    "reg:5000/a/b:tag",
		"a b?x#y":             "a%20b%3Fx%23y",
		"sha256:0123456789ab": "sha256:0123456789ab",
	} {
		if got := escapeName(in); got != want {
			t.Errorf("escapeName(%q) = %q, want %q", in, got, want)
		}
	}
}
