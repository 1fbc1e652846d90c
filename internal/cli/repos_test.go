//go:build !pcocc_launcher

package cli

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/repo"
	"github.com/pcocc/pcocc/internal/testutil"
)

// unavailableSetup is a configuration with two repositories this node
// cannot use (a missing parent, an unset variable) and an available one.
func unavailableSetup(t *testing.T) (*Globals, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	yaml := "repositories:\n" +
		"  gone: {path: " + dir + "/no/such/images}\n" +
		"  elsewhere: {path: $PCOCC_TEST_UNSET/images}\n" +
		"  avail: {path: " + dir + "/avail}\n"
	if err := os.WriteFile(filepath.Join(conf, "repositories.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	dirs := config.Dirs{System: filepath.Join(dir, "none"), User: conf, UserRepo: filepath.Join(dir, "user")}
	var log bytes.Buffer
	g := &Globals{Log: slog.New(newLineHandler(&log, slog.LevelInfo, "pcocc")),
		cfg: config.Load(dirs, func(string) string { return "" })}
	return g, &log
}

func TestUnavailableRepositoryNamed(t *testing.T) {
	g, log := unavailableSetup(t)
	_, err := g.findImage("gone:x")
	var ue *config.UnavailableError
	if !errors.As(err, &ue) || ue.Repo != "gone" || !strings.Contains(err.Error(), "repositories.yaml:2:3: repository gone is unavailable here: parent directory") {
		t.Fatalf("findImage(gone:x) = %v; want the unavailable line at 2:3", err)
	}
	if exitcode.Of(err) != exitcode.Failure {
		t.Errorf("exit status %d; want %d", exitcode.Of(err), exitcode.Failure)
	}
	if log.Len() != 0 {
		t.Errorf("naming the repository must fail without a warning, got %q", log)
	}
}

func TestUnavailableRepositoryBareName(t *testing.T) {
	g, log := unavailableSetup(t)
	_, err := g.findImage("nope")
	if err == nil || !strings.Contains(err.Error(), "(searched user, avail; ") ||
		!strings.Contains(err.Error(), "repository gone is unavailable here") ||
		!strings.Contains(err.Error(), "repository elsewhere is unavailable here: path \"$PCOCC_TEST_UNSET/images\": $PCOCC_TEST_UNSET is not set") {
		t.Fatalf("findImage(nope) = %v; want a not-found naming both unavailable repositories", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	// Listing warns once per repository, however often it is asked.
	for range 2 {
		if _, err := collectImages(g, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(log.String(), "\n"); n != 2 ||
		!strings.Contains(log.String(), "pcocc: warning: ") || !strings.Contains(log.String(), "repository gone") {
		t.Errorf("warnings:\n%s\nwant one per unavailable repository", log)
	}
}

// FindImage, for commands built outside cli: the default configuration's
// repositories, a bad name a usage error, an unknown one not found.
func TestFindImage(t *testing.T) {
	home := testutil.Home(t)
	testutil.Publish(t, config.UserRepo, testutil.UserRepo(home), testutil.Runnable(imagemeta.Config{}), "img")
	img, err := FindImage("img")
	if err != nil || img.Repo.Name != config.UserRepo || img.Name != "img" {
		t.Fatalf("FindImage(img) = %+v, %v", img, err)
	}
	if _, err := FindImage("nope"); !errors.Is(err, repo.ErrNotFound) || exitcode.Of(err) != exitcode.Failure {
		t.Errorf("FindImage(nope) = %v (exit %d); want not found, exit %d", err, exitcode.Of(err), exitcode.Failure)
	}
	if _, err := FindImage("a:b:c"); exitcode.Of(err) != exitcode.Usage {
		t.Errorf("FindImage(a:b:c) = %v (exit %d); want exit %d", err, exitcode.Of(err), exitcode.Usage)
	}
}
