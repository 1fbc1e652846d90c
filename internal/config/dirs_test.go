package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefaultDirs(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Dirs
	}{
		{
			name: "defaults",
			env:  map[string]string{"HOME": "/home/u"},
			want: Dirs{System: "/etc/pcocc", User: "/home/u/.config/pcocc", UserRepo: "/home/u/.local/share/pcocc/images"},
		},
		{
			name: "XDG and system override",
			env: map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "/cfg", "XDG_DATA_HOME": "/data",
				"PCOCC_SYSTEM_CONF_DIR": "/site/pcocc"},
			want: Dirs{System: "/site/pcocc", User: "/cfg/pcocc", UserRepo: "/data/pcocc/images"},
		},
		{
			name: "relative XDG ignored",
			env:  map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "cfg", "XDG_DATA_HOME": "data"},
			want: Dirs{System: "/etc/pcocc", User: "/home/u/.config/pcocc", UserRepo: "/home/u/.local/share/pcocc/images"},
		},
		{
			name: "no home",
			env:  map[string]string{},
			want: Dirs{System: "/etc/pcocc"},
		},
		{
			name: "relative home is no home",
			env:  map[string]string{"HOME": "home/u"},
			want: Dirs{System: "/etc/pcocc"},
		},
		{
			name: "XDG without home",
			env:  map[string]string{"XDG_CONFIG_HOME": "/cfg", "XDG_DATA_HOME": "/data"},
			want: Dirs{System: "/etc/pcocc", User: "/cfg/pcocc", UserRepo: "/data/pcocc/images"},
		},
		{
			name: "config path with empty entries",
			env:  map[string]string{"PCOCC_CONFIG_PATH": ":/a::/b:"},
			want: Dirs{System: "/etc/pcocc", Path: []string{"/a", "/b"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := DefaultDirs(envMap(tc.env))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("DefaultDirs() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLayers(t *testing.T) {
	tests := []struct {
		name string
		dirs Dirs
		want []string
	}{
		{"all", Dirs{System: "/s", Path: []string{"/a", "/b"}, User: "/u"}, []string{"/s", "/a", "/b", "/u"}},
		{"no user", Dirs{System: "/s", Path: []string{"/a"}}, []string{"/s", "/a"}},
		{"repeat keeps highest", Dirs{System: "/s", Path: []string{"/a", "/b", "/a/"}, User: "/u"}, []string{"/s", "/b", "/a/", "/u"}},
		{"user in path", Dirs{System: "/s", Path: []string{"/u"}, User: "/u"}, []string{"/s", "/u"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.dirs.layers()); diff != "" {
				t.Errorf("layers() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
