package config

import "testing"

func TestSuggest(t *testing.T) {
	tests := []struct {
		key   string
		known []string
		want  string
	}{
		{"pth", repositoryKeys, "path"},
		{"Path", repositoryKeys, "path"},
		{"mount", moduleKeys, "mounts"},
		{"desc", moduleKeys, "description"},
		{"descripton", templateKeys, "description"},
		{"src", mountKeys, "source"},
		{"dst", mountKeys, "destination"},
		{"dest", mountKeys, "destination"},
		{"read_only", mountKeys, "readonly"},
		{"ro", mountKeys, "readonly"},
		{"no-defaults", templateKeys, "no_defaults"},
		{"templates", []string{"modules", "containers"}, "containers"},
		{"image", templateKeys, ""},
		{"xy", moduleKeys, ""},
		{"ro", repositoryKeys, ""}, // an alias only counts when its target is a known key
	}
	for _, tc := range tests {
		if got := suggest(tc.key, tc.known); got != tc.want {
			t.Errorf("suggest(%q) = %q; want %q", tc.key, got, tc.want)
		}
	}
}
