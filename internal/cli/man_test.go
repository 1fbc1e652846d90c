//go:build !pcocc_launcher

package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestManPages(t *testing.T) {
	dir := t.TempDir()
	root := NewRoot("pcocc")
	files, err := writeManPages(root, dir, "/opt/pcocc/share/doc/pcocc")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"pcocc.1", "pcocc-image-import.1", "pcocc-image-repo-gc.1", "pcocc-check.1",
		"pcocc-completion.1", "pcocc-containers.yaml.5", "pcocc-repositories.yaml.5", "pcocc-slurm.7", "pcocc-environment.7", "pcocc-vm-images.7",
		"pcocc-vms.7", "pcocc-alloc.1", "pcocc-console.1"}
	for _, w := range want {
		if _, err := os.Stat(filepath.Join(dir, w)); err != nil {
			t.Errorf("no %s: %v", w, err)
		}
	}
	for _, never := range []string{"pcocc-man.1", "pcocc-help.1"} {
		if _, err := os.Stat(filepath.Join(dir, never)); err == nil {
			t.Errorf("%s written for a hidden command", never)
		}
	}
	for _, f := range files {
		renderWithoutWarnings(t, f)
	}
	// Every page names the installed documentation; command pages with
	// examples show them.
	for _, f := range files {
		page, _ := os.ReadFile(f)
		if !strings.Contains(string(page), "installed in /opt/pcocc/share/doc/pcocc: user\\-guide.md") {
			t.Errorf("%s does not name the installed documentation", f)
		}
	}
	for _, name := range []string{"pcocc-run.1", "pcocc-image-import.1", "pcocc-module-list.1", "pcocc-template-show.1"} {
		if page, _ := os.ReadFile(filepath.Join(dir, name)); !strings.Contains(string(page), ".SH EXAMPLES") {
			t.Errorf("%s has no examples", name)
		}
	}
	page, _ := os.ReadFile(filepath.Join(dir, "pcocc-containers.yaml.5"))
	for _, w := range []string{".SH MODULES", ".SH TEMPLATES", ".SS Keys", "pp(LD_LIBRARY_PATH)=/opt/mylib"} {
		if !strings.Contains(string(page), w) {
			t.Errorf("pcocc-containers.yaml.5 lacks %q", w)
		}
	}
}

// renderWithoutWarnings renders a page with groff and with man-db, both
// asked for every warning, and fails on any output on stderr.
func renderWithoutWarnings(t *testing.T, file string) {
	t.Helper()
	tools := [][]string{
		{"groff", "-ww", "-man", "-z", "-Tutf8", file},
		{"man", "-l", "--warnings", file},
	}
	ran := 0
	for _, argv := range tools {
		if _, err := exec.LookPath(argv[0]); err != nil {
			continue
		}
		ran++
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("%s: %v %s", strings.Join(argv, " "), err, stderr.String())
		}
	}
	if ran == 0 {
		t.Skip("neither groff nor man is installed")
	}
}

func TestRoffEscapesCommandText(t *testing.T) {
	got := plainRoff("line one -x\n.dot\n\n  indented \\ back\n")
	want := ".PP\nline one \\-x\n\\&.dot\n.PP\n.nf\n  indented \\e back\n.fi\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
