package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExpand(t *testing.T) {
	env := envMap(map[string]string{"HOME": "/home/u", "A": "/a", "B_1": "b", "DOLLAR": "$HOME"})
	tests := []struct {
		in      string
		want    string
		unset   []string
		wantErr string
	}{
		{in: "/plain", want: "/plain"},
		{in: "$A/x", want: "/a/x"},
		{in: "${A}x", want: "/ax"},
		{in: "$A$B_1", want: "/ab"},
		{in: "$B_1.d", want: "b.d"},
		{in: "~", want: "/home/u"},
		{in: "~/data", want: "/home/u/data"},
		{in: "/x/~", want: "/x/~"},
		{in: "~other/x", want: "~other/x"},
		{in: "$DOLLAR", want: "$HOME"}, // values are not expanded again
		{in: "a$", want: "a$"},
		{in: "a$/b", want: "a$/b"},
		{in: "$1", want: "$1"},
		{in: "$UNSET/x", want: "/x", unset: []string{"UNSET"}},
		{in: "${UNSET}${A}", want: "/a", unset: []string{"UNSET"}},
		{in: "${A", wantErr: "unterminated"},
		{in: "${}", wantErr: "bad variable name"},
		{in: "${A-b}", wantErr: `bad variable name "A-b"`},
	}
	for _, tc := range tests {
		got, err := expand(tc.in, env)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("expand(%q) error = %v; want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got.value != tc.want || !cmp.Equal(got.unset, tc.unset) {
			t.Errorf("expand(%q) = %q %v, %v; want %q %v", tc.in, got.value, got.unset, err, tc.want, tc.unset)
		}
	}
}

func TestExpandTildeWithoutHome(t *testing.T) {
	_, err := expand("~/x", envMap(nil))
	if !errors.Is(err, ErrNoHome) {
		t.Fatalf("expand(~/x) without HOME: err = %v; want ErrNoHome", err)
	}
}
