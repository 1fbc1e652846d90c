package vmcli

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseMiB(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"512", 512, true}, {"512M", 512, true}, {"2G", 2048, true}, {"2g", 2048, true},
		{"0", 0, false}, {"-1", 0, false}, {"lots", 0, false}, {"", 0, false}, {"1.5G", 0, false},
	} {
		got, err := parseMiB(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseMiB(%q) = %d, %v", tc.in, got, err)
		}
	}
}

func TestTakeTarget(t *testing.T) {
	tg, rest, err := takeTarget([]string{"-j", "4", "-J", "x", "-v", "vm0", "ls"})
	if err != nil || tg.id != 4 || tg.name != "x" || strings.Join(rest, " ") != "-v vm0 ls" {
		t.Errorf("takeTarget: %+v %v %v", tg, rest, err)
	}
	if _, _, err := takeTarget([]string{"-j", "x", "vm0"}); err == nil {
		t.Error("-j x accepted")
	}
}

func TestVMHost(t *testing.T) {
	for in, want := range map[string]bool{
		"vm0": true, "root@vm12": true, "vm1:/tmp/x": true, "u@vm1:": true,
		"vm": false, "host": false, "./vm0": false, "/tmp/vm0": false, "vm0x": false,
	} {
		if got := vmHost.MatchString(in); got != want {
			t.Errorf("vmHost(%q) = %v", in, got)
		}
	}
}

// Three Ctrl-C in a row leave the console; fewer are sent to the VM.
func TestCopyUntilCtrlC(t *testing.T) {
	var out bytes.Buffer
	copyUntilCtrlC(&out, strings.NewReader("ls\x03\x03x\x03\x03\x03never"))
	if got := out.String(); got != "ls\x03\x03x\x03\x03" {
		t.Errorf("sent %q", got)
	}
	if strings.Contains(out.String(), "never") {
		t.Errorf("sent what followed the third Ctrl-C: %q", out.String())
	}
}
