package container

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pcocc/pcocc/internal/envspec"
	"github.com/pcocc/pcocc/internal/imagemeta"
	"github.com/pcocc/pcocc/internal/mountspec"
)

func baseInput() Input {
	return Input{
		Image: Image{Ref: "img", Squashfs: "/repo/img.sqfs", Config: imagemeta.Config{
			Env: []string{"PATH=/img/bin", "IMG=1"},
			Cmd: []string{"/bin/sh"},
		}},
		Host: Host{
			Env:      []string{"SECRET=s", "HOME=/home/u", "TERM=xterm", "OMPI_X=1", "LD=/host"},
			Cwd:      "/home/u/work",
			Hostname: "node1",
			User:     User{UID: 1001, GID: 1001, Name: "u", Group: "u", Home: "/home/u"},
		},
	}
}

func specs(t *testing.T, ss ...string) []envspec.Spec {
	t.Helper()
	var out []envspec.Spec
	for _, s := range ss {
		p, err := envspec.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestPlanEnv(t *testing.T) {
	tests := []struct {
		name     string
		imageEnv []string
		layers   [][]string // one list of specs per layer, lowest first
		want     []string
	}{
		{"host env not propagated", []string{"PATH=/p"}, nil, []string{"PATH=/p", "HOME=/home/u"}},
		{"PATH fallback", nil, nil, []string{"PATH=" + DefaultPath, "HOME=/home/u"}},
		{"PATH fallback then suffix", nil, [][]string{{"ps(PATH)=/x"}}, []string{"PATH=" + DefaultPath + ":/x", "HOME=/home/u"}},
		{"image HOME kept", []string{"PATH=/p", "HOME=/root"}, nil, []string{"PATH=/p", "HOME=/root"}},
		{"named variable propagated", []string{"PATH=/p"}, [][]string{{"TERM", "MISSING"}}, []string{"PATH=/p", "TERM=xterm", "HOME=/home/u"}},
		{"regex", []string{"PATH=/p"}, [][]string{{"re(^OMPI_)"}}, []string{"PATH=/p", "OMPI_X=1", "HOME=/home/u"}},
		{
			"precedence: later layers win",
			[]string{"PATH=/p", "A=image", "B=image", "C=image"},
			[][]string{{"A=default", "B=default", "C=default"}, {"B=template", "C=template"}, {"C=cli"}},
			[]string{"PATH=/p", "A=default", "B=template", "C=cli", "HOME=/home/u"},
		},
		{
			"prefix from a module over the image value",
			[]string{"PATH=/p", "LD=/img"},
			[][]string{{"pp(LD)=/mod"}, {"ps(LD)=/cli"}},
			[]string{"PATH=/p", "LD=/mod:/img:/cli", "HOME=/home/u"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.Image.Config.Env = tt.imageEnv
			for i, l := range tt.layers {
				in.Layers = append(in.Layers, Layer{Origin: string(rune('a' + i)), Env: specs(t, l...)})
			}
			s, err := Plan(in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, s.Env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanCwd(t *testing.T) {
	tests := []struct {
		name, imageDir, option string
		want, from             string
		wantErr                string
	}{
		{name: "host cwd", want: "/home/u/work", from: CwdHost},
		{name: "image wins over host", imageDir: "/app", want: "/app", from: CwdImage},
		{name: "relative image dir", imageDir: "app/", want: "/app", from: CwdImage},
		{name: "option wins over image", imageDir: "/app", option: "/data/", want: "/data", from: CwdOption},
		{name: "relative option", option: "data", wantErr: "--cwd \"data\": not an absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.Image.Config.WorkingDir = tt.imageDir
			in.Options.Cwd = tt.option
			s, err := Plan(in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Cwd != tt.want || s.CwdFrom != tt.from {
				t.Errorf("cwd = %q from %q, want %q from %q", s.Cwd, s.CwdFrom, tt.want, tt.from)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestPlanArgv(t *testing.T) {
	tests := []struct {
		name       string
		entrypoint []string
		cmd        []string
		opts       Options
		want       []string
		wantErr    string
	}{
		{name: "entrypoint+cmd", entrypoint: []string{"/ep", "-x"}, cmd: []string{"c1", "c2"}, want: []string{"/ep", "-x", "c1", "c2"}},
		{name: "entrypoint+args", entrypoint: []string{"/ep"}, cmd: []string{"c1"}, opts: Options{Args: []string{"a", "-b"}}, want: []string{"/ep", "a", "-b"}},
		{name: "cmd only", cmd: []string{"c1"}, want: []string{"c1"}},
		{name: "args replace cmd", cmd: []string{"c1"}, opts: Options{Args: []string{"ls"}}, want: []string{"ls"}},
		{name: "entrypoint only", entrypoint: []string{"/ep"}, want: []string{"/ep"}},
		{name: "no-ep with args", entrypoint: []string{"/ep"}, cmd: []string{"c1"}, opts: Options{NoEntrypoint: true, Args: []string{"ls"}}, want: []string{"ls"}},
		{name: "no-ep without args runs cmd", entrypoint: []string{"/ep"}, cmd: []string{"c1"}, opts: Options{NoEntrypoint: true}, want: []string{"c1"}},
		{name: "no-ep without args or cmd runs a shell", entrypoint: []string{"/ep"}, opts: Options{NoEntrypoint: true}, want: []string{"/bin/sh"}},
		{name: "--entrypoint replaces and drops cmd", entrypoint: []string{"/ep"}, cmd: []string{"c1"}, opts: Options{Entrypoint: ptr("/new")}, want: []string{"/new"}},
		{name: "--entrypoint with args", entrypoint: []string{"/ep"}, opts: Options{Entrypoint: ptr("/new"), Args: []string{"a"}}, want: []string{"/new", "a"}},
		{name: "--entrypoint empty clears", entrypoint: []string{"/ep"}, opts: Options{Entrypoint: ptr(""), Args: []string{"ls"}}, want: []string{"ls"}},
		{name: "nothing to run", wantErr: "no entrypoint and no command"},
		{name: "--entrypoint empty and no args", cmd: []string{"c1"}, opts: Options{Entrypoint: ptr("")}, wantErr: "no entrypoint and no command"},
		{name: "empty program name", opts: Options{Args: []string{""}}, wantErr: "no entrypoint and no command"},
		{name: "both --no-ep and --entrypoint", opts: Options{NoEntrypoint: true, Entrypoint: ptr("/x")}, wantErr: "cannot be used together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			in.Image.Config.Entrypoint, in.Image.Config.Cmd = tt.entrypoint, tt.cmd
			in.Options = tt.opts
			s, err := Plan(in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, s.Argv); diff != "" {
				t.Errorf("argv (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanNoCommandIsErrNoCommand(t *testing.T) {
	in := baseInput()
	in.Image.Config.Cmd = nil
	if _, err := Plan(in); !errors.Is(err, ErrNoCommand) {
		t.Fatalf("err = %v, want ErrNoCommand", err)
	}
}

func TestPlanArgvDoesNotAlias(t *testing.T) {
	in := baseInput()
	in.Image.Config.Entrypoint = make([]string, 1, 10)
	in.Image.Config.Entrypoint[0] = "/ep"
	in.Options.Args = []string{"a"}
	s, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	s.Argv[0] = "changed"
	if in.Image.Config.Entrypoint[0] != "/ep" {
		t.Fatal("Plan returned an argv that aliases the image config")
	}
}

func TestPlanMounts(t *testing.T) {
	in := baseInput()
	in.Layers = []Layer{
		{Origin: `module "m"`, Mounts: []mountspec.Mount{{Source: "/opt/tools", ReadOnly: true}}},
		{Origin: OriginCommandLine, Mounts: []mountspec.Mount{
			{Source: "data", Destination: "/data"},
			{Source: "/x/img.sqfs", Destination: "/opt/x/", Type: "squashfs"},
			{Source: "/tmp/other", Destination: "/tmp"},
		}},
	}
	s, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	want := append(systemMounts(),
		Mount{Type: MountBind, Source: "/opt/tools", Destination: "/opt/tools", ReadOnly: true, Origin: `module "m"`},
		Mount{Type: MountBind, Source: "/home/u/work/data", Destination: "/data", Origin: OriginCommandLine},
		Mount{Type: MountSquashfs, Source: "/x/img.sqfs", Destination: "/opt/x", ReadOnly: true, Origin: OriginCommandLine},
		Mount{Type: MountBind, Source: "/tmp/other", Destination: "/tmp", Origin: OriginCommandLine},
	)
	if diff := cmp.Diff(want, s.Mounts); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	for _, sys := range []string{"/proc", "/sys", "/dev", "/tmp", "/etc/resolv.conf", "/etc/hosts"} {
		if !hasMount(s.Mounts, sys) {
			t.Errorf("system mount %s missing", sys)
		}
	}
}

func hasMount(ms []Mount, dst string) bool {
	for _, m := range ms {
		if m.Destination == dst && m.Origin == OriginPcocc {
			return true
		}
	}
	return false
}

func TestPlanMountErrorsNameTheOrigin(t *testing.T) {
	in := baseInput()
	in.Layers = []Layer{{Origin: `module "bad"`, Mounts: []mountspec.Mount{{Source: "/a", Destination: "/proc/x"}}}}
	_, err := Plan(in)
	if err == nil || !strings.HasPrefix(err.Error(), `module "bad": `) || !strings.Contains(err.Error(), "/proc") {
		t.Fatalf("err = %v", err)
	}
}

func TestPlanRejectsRelativePaths(t *testing.T) {
	in := baseInput()
	in.Image.Squashfs = "img.sqfs"
	if _, err := Plan(in); err == nil {
		t.Error("relative squashfs accepted")
	}
	in = baseInput()
	in.Host.Cwd = "work"
	if _, err := Plan(in); err == nil {
		t.Error("relative host cwd accepted")
	}
}

func TestSpecJSONRoundTrip(t *testing.T) {
	in := baseInput()
	in.Options.Writable = true
	s, err := Plan(in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Spec
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*s, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	for _, key := range []string{`"rootfs":"/repo/img.sqfs"`, `"writable":true`, `"argv":["/bin/sh"]`, `"uid":1001`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}
}
