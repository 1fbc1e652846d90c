package nvidia

import (
	"fmt"
	"os"
	"os/exec"
)

// SystemLDCache runs `ldconfig -p`. ldconfig lives in /sbin, which a
// user's PATH may lack.
func SystemLDCache() ([]byte, error) {
	for _, p := range []string{"/sbin/ldconfig", "/usr/sbin/ldconfig"} {
		if _, err := os.Stat(p); err == nil {
			return exec.Command(p, "-p").Output()
		}
	}
	p, err := exec.LookPath("ldconfig")
	if err != nil {
		return nil, fmt.Errorf("finding ldconfig: %w", err)
	}
	return exec.Command(p, "-p").Output()
}
