package vmsetup

import (
	"errors"
	"testing"
)

// An undo that finds its object already gone is not an error, whichever
// way the tool says so; any other failure is.
func TestGone(t *testing.T) {
	for msg, want := range map[string]bool{
		"ip link del pch39v: exit status 1: Cannot find device \"pch39v\"":                   true,
		"ip link del pch39v: exit status 2: RTNETLINK answers: No such device":               true,
		"ip netns del pcocc-39-0: exit status 1: Cannot remove namespace file: No such file": true,
		"nft delete table ip pcocc_39: exit status 1: Error: No such file or directory":      true,
		"ip link del pch39v: exit status 2: RTNETLINK answers: Operation not permitted":      false,
		"nft delete table ip pcocc_39: exit status 1: Error: Device or resource busy":        false,
	} {
		if got := gone(errors.New(msg)); got != want {
			t.Errorf("gone(%q) = %v, want %v", msg, got, want)
		}
	}
}
