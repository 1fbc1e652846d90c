package vmguest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/sshkeys"
)

func TestKernelArgs(t *testing.T) {
	for _, tc := range []struct {
		name           string
		kernel, append string
		want           string
	}{
		{"disk boot", "", "console=ttyS0", ""},
		{"default append", "/k", "", DefaultAppend + " pcocc.hostname=vm2"},
		{"own append", "/k", " console=ttyS0 quiet ", "console=ttyS0 quiet pcocc.hostname=vm2"},
	} {
		got := KernelArgs(config.VMTemplate{Kernel: tc.kernel, Append: tc.append}, 2)
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestPlan(t *testing.T) {
	files := map[string]string{"/ud.yaml": "#cloud-config\npackages: [x]\n"}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, fs.ErrNotExist
	}
	hk, err := sshkeys.NewHostKey("vm1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		tpl     config.VMTemplate
		hostKey *sshkeys.HostKey
		check   func(t *testing.T, g Guest)
		wantErr string
	}{
		{name: "file user-data", tpl: config.VMTemplate{Name: "a", UserData: "/ud.yaml"}, check: func(t *testing.T, g Guest) {
			if g.Seed.UserData != files["/ud.yaml"] || g.Name != "vm1" || g.Seed.Hostname != "vm1" {
				t.Errorf("guest %+v", g)
			}
			if !strings.HasPrefix(g.Seed.InstanceID, "i-") || len(g.Seed.InstanceID) != 18 {
				t.Errorf("instance id %q", g.Seed.InstanceID)
			}
		}},
		{name: "inline user-data, fixed id, host key", tpl: config.VMTemplate{UserDataInline: "#cloud-config\n", InstanceID: "fixed"},
			hostKey: &hk, check: func(t *testing.T, g Guest) {
				if g.Seed.InstanceID != "fixed" || g.Seed.HostKeyPublic != hk.Public || g.Seed.UserData != "#cloud-config\n" {
					t.Errorf("guest %+v", g)
				}
				if g.Seed.User != "alice" || len(g.Seed.AuthorizedKeys) != 1 {
					t.Errorf("user %q keys %v", g.Seed.User, g.Seed.AuthorizedKeys)
				}
			}},
		{name: "missing user-data file", tpl: config.VMTemplate{Name: "b", UserData: "/gone"},
			wantErr: `template "b" (built-in): user-data: file does not exist`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := Plan(Request{Template: tc.tpl, Index: 1, User: "alice", AuthorizedKey: "ssh-ed25519 AAAA", HostKey: tc.hostKey, ReadFile: read})
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, g)
		})
	}
}

func TestInstanceIDsDiffer(t *testing.T) {
	a, _ := Plan(Request{Index: 0})
	b, _ := Plan(Request{Index: 0})
	if a.Seed.InstanceID == b.Seed.InstanceID {
		t.Error("same instance id twice")
	}
}

func TestWriteSeedBadUserData(t *testing.T) {
	g, err := Plan(Request{Template: config.VMTemplate{UserDataInline: "#cloud-config\na: [\n"}, Index: 0})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "seed.iso")
	err = g.WriteSeed(path)
	if err == nil || !strings.HasPrefix(err.Error(), "vm0: cloud-init seed: user-data:") {
		t.Errorf("error %v", err)
	}
	if _, serr := os.Stat(path); !errors.Is(serr, fs.ErrNotExist) {
		t.Errorf("seed left behind: %v", serr)
	}
}
