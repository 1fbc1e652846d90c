package helptext

import (
	"slices"
	"strings"
	"testing"
)

func TestTopics(t *testing.T) {
	want := []string{"containers", "docker-env", "environment", "modules", "repositories", "slurm", "templates", "templates-yaml", "vm-images", "vms"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("topics %v, want %v", got, want)
	}
	for _, tp := range Topics() {
		text := tp.Text()
		if strings.Contains(text, "```") || strings.Contains(text, "`") {
			t.Errorf("%s: markup left in the terminal text", tp.Name)
		}
		if strings.Contains(text, "::") {
			t.Errorf("%s: doubled colon (a `key:` before a colon): %q", tp.Name, text[strings.Index(text, "::")-30:][:40])
		}
		if !strings.HasPrefix(text, tp.Name+" - ") {
			t.Errorf("%s: text starts with %q", tp.Name, text[:20])
		}
		for _, l := range strings.Split(tp.Body, "\n") {
			if len(l) > 100 && !strings.HasPrefix(l, "pcocc") && !strings.HasPrefix(l, "srun") {
				t.Errorf("%s: line longer than 100 characters: %q", tp.Name, l)
			}
		}
	}
	if _, ok := Lookup("nope"); ok {
		t.Error("Lookup(nope) found a topic")
	}
}

// The topics must say what users come for: every env-spec form, every
// Slurm option, every mount key.
func TestTopicsCoverTheSyntax(t *testing.T) {
	need := map[string][]string{
		"environment": {"`VAR`", "`VAR=VAL`", "`re(REGEX)`", "`pp(VAR)=VAL`", "`ps(VAR)=VAL`", "PCOCC_CONFIG_PATH", "PCOCC_CHECK_FUSE_DEV",
			"PCOCC_SQUASHFS_MOUNT", "PCOCC_UNPACK_DIR", "PCOCC_UNPACK_MAX_MIB", "PCOCC_SQFUSE_PRELOAD_MIB"},
		"slurm":      {"--ctr=", "--ctr-mount=", "--ctr-module=", "--ctr-env=", "--ctr-no-defaults", "--ctr-workdir="},
		"containers": {"`source`", "`destination`", "`readonly`", "`type`", "`optional`", "type=bind|squashfs"},
		"templates":  {"`rootfs`", "`no_defaults`", "host-passthrough"},
		"templates-yaml": {"`image`", "`inherits`", "`resource-set`", "`user-data`", "`instance-id`",
			"`mount-points`", "`persistent-drives`", "`custom-args`", "`qemu-bin`", "`machine-type`",
			"`cpu-model`", "`nic-model`", "`disk-model`", "`disk-cache`", "`emulator-cores`",
			"`bind-vcpus`", "`kernel`", "`initrd`", "`append`", "`ports`"},
		"modules":      {"`default`", "`generator`", "--no-defaults"},
		"repositories": {"PCOCC_CONFIG_PATH", "REPO:NAME", "read-only", "image rebuild"},
		"vm-images":    {"NAME@REV", "image resize", "image export", "image copy", "image delete", "--fmt", "raw, qcow2, qed, vdi, vpc and vmdk"},
	}
	for name, words := range need {
		tp, _ := Lookup(name)
		for _, w := range words {
			if !strings.Contains(tp.Body, w) {
				t.Errorf("topic %s does not mention %s", name, w)
			}
		}
	}
}

func TestRoff(t *testing.T) {
	md := "Intro `pcocc run` -v.\nmore\n\n## Keys\n\n`path`\n: the **path**\n  continued\n\n" +
		"* one\n  two\n1. first\n\n```\n.dot \\ line\n\n  indented\n```\n"
	want := `.PP
Intro \fBpcocc run\fR \-v.
more
.SH KEYS
.TP
\fBpath\fR
the \fBpath\fR
continued
.IP \(bu 4
one
two
.IP 1. 4
first
.PP
.RS 4
.nf
\&.dot \e line
\&
  indented
.fi
.RE
`
	if got := Roff(md); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"a-b":          `a\-b`,
		"'quoted":      `\&'quoted`,
		"⛔ mark":       `\[u26D4] mark`,
		`back\slash`:   `back\eslash`,
		"unbalanced `": "unbalanced `",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}
