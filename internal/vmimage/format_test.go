package vmimage

import (
	"errors"
	"testing"
)

func TestFormatOf(t *testing.T) {
	tests := []struct {
		flag, file, want string
		err              error
	}{
		{"", "disk.qcow2", "qcow2", nil},
		{"", "DISK.VMDK", "vmdk", nil},
		{"", "disk.vhd", "vpc", nil},
		{"", "disk.raw", "raw", nil},
		{"", "disk.img", "", nil}, // probed
		{"", "disk", "", nil},
		{"raw", "disk.qcow2", "raw", nil},
		{"iso", "disk.iso", "iso", ErrUnknownFormat},
	}
	for _, tc := range tests {
		got, err := FormatOf(tc.flag, tc.file)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("FormatOf(%q, %q) = %q, %v; want %q, %v", tc.flag, tc.file, got, err, tc.want, tc.err)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // 0: an error
	}{
		{"512", 512}, {"1K", 1024}, {"10M", 10 << 20}, {"2G", 2 << 30}, {"1T", 1 << 40},
		{"10g", 10 << 30}, {"10GB", 10 << 30}, {"10GiB", 10 << 30},
		{"", 0}, {"0", 0}, {"-1G", 0}, {"1.5G", 0}, {"10X", 0}, {"10B", 0}, {"G", 0},
		{"99999999999T", 0}, {"ten", 0},
	}
	for _, tc := range tests {
		got, err := ParseSize(tc.in)
		if tc.want == 0 && !errors.Is(err, ErrBadSize) || tc.want != 0 && (err != nil || got != tc.want) {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}
