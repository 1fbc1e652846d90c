package vm

import (
	"fmt"
	"strings"
	"testing"
)

func lookupIn(ts ...Template) func(string) (Template, error) {
	return func(name string) (Template, error) {
		for _, t := range ts {
			if t.Name == name {
				return t, nil
			}
		}
		return Template{}, fmt.Errorf("no template %q", name)
	}
}

func TestPlan(t *testing.T) {
	lookup := lookupIn(Template{Name: "a", Image: "/img/a.qcow2"}, Template{Name: "big", Cores: 4, MemMiB: 4096})
	for _, tc := range []struct {
		name string
		reqs []Request
		res  Resources
		want string // name:cores:mem:template per VM
		err  string
	}{
		{name: "defaults", reqs: []Request{{"a", 2}}, want: "vm0:1:1024:a vm1:1:1024:a"},
		{name: "command line wins", reqs: []Request{{"big", 1}}, res: Resources{Cores: 2, MemMiB: 256}, want: "vm0:2:256:big"},
		{name: "template", reqs: []Request{{"a", 1}, {"big", 1}}, want: "vm0:1:1024:a vm1:4:4096:big"},
		{name: "unknown", reqs: []Request{{"nope", 1}}, err: `no template "nope"`},
		{name: "too many cores", reqs: []Request{{"big", 1}}, res: Resources{NodeCores: 2},
			err: "the cluster needs 4 cores and this node has 2"},
		{name: "too much memory", reqs: []Request{{"a", 3}}, res: Resources{NodeMemMiB: 2048},
			err: "the cluster needs 3072 MiB of memory and this node has 2048 MiB"},
		{name: "fits", reqs: []Request{{"a", 2}}, res: Resources{NodeCores: 2, NodeMemMiB: 2048}, want: "vm0:1:1024:a vm1:1:1024:a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vms, err := Plan(tc.reqs, lookup, tc.res, "/run/j")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range vms {
				got = append(got, fmt.Sprintf("%s:%d:%d:%s", v.Name, v.Cores, v.MemMiB, v.Template.Name))
				if v.Files.Overlay != fmt.Sprintf("/run/j/vm%d.qcow2", v.Index) || v.MAC != MAC(v.Index) {
					t.Errorf("%s: files %+v mac %s", v.Name, v.Files, v.MAC)
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("got %s, want %s", g, tc.want)
			}
		})
	}
}

func TestMAC(t *testing.T) {
	if MAC(0) != "52:54:00:00:00:00" || MAC(258) != "52:54:00:00:01:02" {
		t.Errorf("MAC: %s %s", MAC(0), MAC(258))
	}
}
