package container

import (
	"errors"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/mountspec"
)

func hostInput(args ...string) Input {
	in := baseInput()
	in.Image = Image{Ref: "host-passthrough", HostRoot: true}
	in.Options.Args = args
	return in
}

func TestPlanHostRoot(t *testing.T) {
	in := hostInput("ls", "/data")
	in.Layers = []Layer{{Origin: "command line", Env: specs(t, "ADDED=1"),
		Mounts: []mountspec.Mount{{Source: "d.sqsh", Destination: "/data", Type: mountspec.TypeSquashfs}}}}
	s, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	if !s.HostRoot || s.Rootfs != "" {
		t.Errorf("HostRoot %v, Rootfs %q", s.HostRoot, s.Rootfs)
	}
	// No system mounts: /proc, /dev, /tmp come with the host's root.
	if len(s.Mounts) != 1 || s.Mounts[0].Source != "/home/u/work/d.sqsh" || !s.Mounts[0].ReadOnly {
		t.Errorf("mounts: %+v", s.Mounts)
	}
	// The host's environment is the base, as the image's is for an image.
	env := strings.Join(s.Env, "\n")
	for _, want := range []string{"SECRET=s", "TERM=xterm", "ADDED=1"} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %q: %q", want, s.Env)
		}
	}
	if s.Cwd != "/home/u/work" || strings.Join(s.Argv, " ") != "ls /data" {
		t.Errorf("cwd %q argv %q", s.Cwd, s.Argv)
	}
}

func TestPlanHostRootRefusals(t *testing.T) {
	ep := "/x"
	tests := []struct {
		name   string
		modify func(*Input)
		want   string
	}{
		{"no command", func(in *Input) { in.Options.Args = nil }, "the host root has no entrypoint"},
		{"writable", func(in *Input) { in.Options.Writable = true }, "--writable applies to images only"},
		{"entrypoint", func(in *Input) { in.Options.Entrypoint = &ep }, "--entrypoint applies to images only"},
		{"squashfs given", func(in *Input) { in.Image.Squashfs = "/a.sqfs" }, "has no squashfs"},
	}
	for _, tt := range tests {
		in := hostInput("true")
		tt.modify(&in)
		_, err := Plan(in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	in := hostInput()
	if _, err := Plan(in); !errors.Is(err, ErrNoCommand) {
		t.Errorf("no command: %v is not ErrNoCommand", err)
	}
}
