//go:build !pcocc_launcher

package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/repo"
)

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain été ☃ tab-less":           "plain été ☃ tab-less",
		"\x1b]0;pwned\a\x1b[2J":          `\x1b]0;pwned\a\x1b[2J`,
		"two\nlines\r":                   `two\nlines\r`,
		"c1 \u009b31m del \x7f nul \x00": `c1 \u009b31m del \x7f nul \x00`,
		"bidi \u202eevil\u2069":          `bidi \u202eevil\u2069`,
		"bad \xff\xfe utf-8":             `bad \xff\xfe utf-8`,
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// hostileImage holds ESC sequences wherever its publisher could put them.
func hostileImage() *repo.Image {
	const esc = "\x1b]0;pwned\a\x1b[2J"
	return &repo.Image{Repo: &repo.Repo{Name: "shared", Path: "/r"}, Name: "img" + esc, Err: errors.New("bad " + esc),
		Meta: imagemeta.Meta{Type: "container" + esc,
			Origin: imagemeta.Origin{Source: "oci:" + esc, Digest: esc, Owner: esc, Date: time.Unix(0, 0)},
			Config: imagemeta.Config{Env: []string{"A=" + esc}, Entrypoint: []string{esc}, Cmd: []string{esc},
				WorkingDir: esc, User: esc, Labels: map[string]string{"k" + esc: "v" + esc}}}}
}

// What image show, image list and warnings print holds no control
// character an image supplied: the publisher of a shared repository must
// not drive its users' terminals.
func TestImageOutputEscaped(t *testing.T) {
	img := hostileImage()
	var show, list, log bytes.Buffer
	if err := showImage(&show, img); err != nil {
		t.Fatal(err)
	}
	printImageTable(&list, []listedImage{toListed(img, repo.Usage{})})
	slog.New(newLineHandler(&log, slog.LevelInfo, "pcocc")).Warn("label \x1b[2J", "value", "\x1b[2J")
	for name, out := range map[string]string{"show": show.String(), "list": list.String(), "log": log.String()} {
		text := strings.ReplaceAll(out, "\n", "")
		if i := strings.IndexFunc(text, needsEscape); i >= 0 {
			t.Errorf("%s prints a control character: %q", name, out)
		}
		if !strings.Contains(out, `\x1b`) {
			t.Errorf("%s does not show the escaped ESC: %q", name, out)
		}
	}
}

// JSON output keeps its meaning, with no character a terminal acts on.
func TestWriteJSONEscaped(t *testing.T) {
	v := map[string]string{"l": "\x1b[2J \u009b31m \u202eevil\n"}
	var buf bytes.Buffer
	if err := writeJSON(&buf, v); err != nil {
		t.Fatal(err)
	}
	if i := strings.IndexFunc(strings.TrimSuffix(buf.String(), "\n"), func(r rune) bool { return needsEscape(r) && r != '\n' }); i >= 0 {
		t.Errorf("control character in %q", buf.String())
	}
	var back map[string]string
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back["l"] != v["l"] {
		t.Errorf("read back %q, %v", back, err)
	}
}
