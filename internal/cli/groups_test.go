//go:build !pcocc_launcher

package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/pcocc/pcocc/internal/exitcode"
)

// A mistyped subcommand of a group is a usage error with a suggestion, not
// the group's help and status 0.
func TestGroupsRejectUnknownSubcommands(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"image", "lst"}, `unknown command "lst" for "pcocc image"; did you mean "list"?`},
		{[]string{"module", "lst"}, `unknown command "lst" for "pcocc module"; did you mean "list"?`},
		{[]string{"template", "shwo"}, `unknown command "shwo" for "pcocc template"; did you mean "show"?`},
		{[]string{"image", "repo", "lst"}, `unknown command "lst" for "pcocc image repo"; did you mean "list"?`},
		{[]string{"image", "frobnicate"}, `unknown command "frobnicate" for "pcocc image" (see 'pcocc image --help')`},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		root := newRoot("pcocc", &Globals{Stdout: &out, Stderr: &errOut})
		root.SetOut(&out)
		root.SetErr(&errOut)
		root.SetArgs(tt.args)
		err := root.ExecuteContext(context.Background())
		if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: code %d, err %v; want 2 and %q", tt.args, exitcode.Of(err), err, tt.want)
		}
		if out.Len() > 0 {
			t.Errorf("%q printed help:\n%s", tt.args, out.String())
		}
	}
	// The group alone: its help, status 0.
	var out bytes.Buffer
	root := newRoot("pcocc", &Globals{Stdout: &out, Stderr: &out})
	root.SetOut(&out)
	root.SetArgs([]string{"image"})
	if err := root.ExecuteContext(context.Background()); err != nil || !strings.Contains(out.String(), "Usage:") {
		t.Errorf("pcocc image: err %v, out %q", err, out.String())
	}
}

func TestCalledAs(t *testing.T) {
	msg := `image "x" not found (see 'pcocc image list'); give one (pcocc run IMAGE CMD); pcocc keeps "pcocc" alone`
	want := `image "x" not found (see 'pcocc-rs image list'); give one (pcocc-rs run IMAGE CMD); pcocc keeps "pcocc" alone`
	if got := CalledAs("pcocc-rs", msg); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := CalledAs("pcocc", msg); got != msg {
		t.Errorf("pcocc changed the message: %s", got)
	}
}
