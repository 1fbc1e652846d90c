package digest

import (
	"strings"
	"testing"
)

const emptySHA = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func TestParse(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{emptySHA, true},
		{"", false},
		{"sha256:", false},
		{strings.ToUpper(emptySHA[:7]) + emptySHA[7:], false}, // algorithm in capitals
		{emptySHA[:7] + strings.ToUpper(emptySHA[7:]), false}, // capital hex
		{emptySHA[:len(emptySHA)-1], false},                   // short
		{emptySHA + "0", false},                               // long
		{"sha512:" + emptySHA[7:], false},                     // other algorithm
		{emptySHA[7:], false},                                 // no algorithm
		{emptySHA[:len(emptySHA)-1] + "g", false},             // not hex
		{"sha256:" + strings.Repeat("0", 63) + "/", false},    // path separator
		{"sha256:../" + strings.Repeat("0", 61), false},       // path escape
	}
	for _, tt := range tests {
		d, err := Parse(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("Parse(%q) error %v, want ok=%v", tt.in, err, tt.ok)
		}
		if tt.ok && string(d) != tt.in {
			t.Errorf("Parse(%q) = %q", tt.in, d)
		}
		if !tt.ok && err != nil && !strings.Contains(err.Error(), "invalid digest") {
			t.Errorf("Parse(%q): error %q does not say what is wrong", tt.in, err)
		}
		if Valid(tt.in) != tt.ok {
			t.Errorf("Valid(%q) = %v", tt.in, !tt.ok)
		}
	}
}

func TestFormat(t *testing.T) {
	d := Digest(emptySHA)
	if d.Hex() != emptySHA[7:] {
		t.Errorf("Hex() = %q", d.Hex())
	}
	if got, err := FromHex(d.Hex()); err != nil || got != d {
		t.Errorf("FromHex(%q) = %q, %v", d.Hex(), got, err)
	}
	if _, err := FromHex("../x"); err == nil {
		t.Error("FromHex accepted a path")
	}
	if d.Short() != "sha256:e3b0c44298fc" {
		t.Errorf("Short() = %q", d.Short())
	}
}

// FuzzParse checks that whatever Parse accepts is canonical: it formats
// back to itself and names a blob file without a path separator.
func FuzzParse(f *testing.F) {
	f.Add(emptySHA)
	f.Add("sha256:")
	f.Add("sha256:" + strings.Repeat("A", 64))
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			return
		}
		if d.String() != s || len(d.Hex()) != 64 || strings.ContainsAny(d.Hex(), "/.\x00") {
			t.Fatalf("Parse(%q) accepted a non-canonical digest", s)
		}
		if again, err := FromHex(d.Hex()); err != nil || again != d {
			t.Fatalf("FromHex(%q) = %q, %v", d.Hex(), again, err)
		}
	})
}
