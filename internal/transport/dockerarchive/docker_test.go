package dockerarchive

import "testing"

func TestNormalizeName(t *testing.T) {
	for in, want := range map[string]string{
		"busybox":                  "docker.io/library/busybox:latest",
		"probe/multi:1":            "docker.io/probe/multi:1",
		"docker.io/probe/multi:1":  "docker.io/probe/multi:1",
		"localhost/x":              "localhost/x:latest",
		"reg.example:5000/a/b:tag": "reg.example:5000/a/b:tag",
		"reg.example:5000/a":       "reg.example:5000/a:latest",
	} {
		if got := normalizeName(in); got != want {
			t.Errorf("normalizeName(%q) = %q, want %q", in, got, want)
		}
	}
}
