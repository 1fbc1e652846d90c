package runtime

import (
	"testing"

	"github.com/pcocc/pcocc/internal/containerinit"
	"github.com/pcocc/pcocc/internal/squashfs"
)

func TestImageMount(t *testing.T) {
	tests := []struct {
		hostRoot, kernel, unpacked, hold bool
		mode                             squashfs.Mode
		want                             containerinit.ImageMount
	}{
		{hostRoot: true, mode: squashfs.ModeSqfuse, want: containerinit.ImageNone},
		{hostRoot: true, kernel: true, want: containerinit.ImageNone},
		{kernel: true, want: containerinit.ImageKernel},
		{unpacked: true, mode: squashfs.ModeAuto, want: containerinit.ImageUnpacked},
		{unpacked: true, hold: true, mode: squashfs.ModeUnpack, want: containerinit.ImageUnpacked},
		{mode: squashfs.ModeAuto, want: containerinit.ImageServed},   // too large to unpack
		{mode: squashfs.ModeUnpack, want: containerinit.ImageServed}, // the cache was unusable
		{mode: squashfs.ModeSqfuse, want: containerinit.ImageServed},
		{mode: squashfs.ModeSquashfuse, want: containerinit.ImageFUSE},
		{hold: true, mode: squashfs.ModeSqfuse, want: containerinit.ImageFUSE},
	}
	for _, tt := range tests {
		if got := imageMount(tt.hostRoot, tt.kernel, tt.unpacked, tt.hold, tt.mode); got != tt.want {
			t.Errorf("imageMount(%+v) = %q, want %q", tt, got, tt.want)
		}
	}
}
