package vm

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseDef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Request
		err  string
	}{
		{in: "tpl", want: []Request{{"tpl", 1}}},
		{in: "tpl:2", want: []Request{{"tpl", 2}}},
		{in: "a:2,b:1", want: []Request{{"a", 2}, {"b", 1}}},
		{in: "user:img:3", want: []Request{{"user:img", 3}}},
		{in: "user:img", want: []Request{{"user:img", 1}}},
		{in: "", err: "empty cluster definition"},
		{in: "a:0", err: `"a:0": the count must be a positive number`},
		{in: "a:-1", err: `"a:-1": the count must be a positive number`},
		{in: ":2", err: `":2" has no template name`},
		{in: "a,,b", err: `"" has no template name`},
		{in: "a:257", err: "more than 256 VMs"},
	} {
		got, err := ParseDef(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseDef(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseDef(%q): %v", tc.in, err)
		} else if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("ParseDef(%q) (-want +got):\n%s", tc.in, d)
		}
	}
}
