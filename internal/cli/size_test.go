//go:build !pcocc_launcher

package cli

import "testing"

// Sizes are in binary units everywhere (the import progress says MiB).
func TestHumanSizeIsBinary(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}
