package vmjob

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// BaseDir is where the user's jobs live: $XDG_RUNTIME_DIR/pcocc/vm when that
// is an absolute directory (private, cleared at logout), else
// /tmp/pcocc-vm-UID. Socket paths under it stay short.
func BaseDir(env func(string) string) string {
	if x := env("XDG_RUNTIME_DIR"); filepath.IsAbs(x) {
		if st, err := os.Stat(x); err == nil && st.IsDir() {
			return filepath.Join(x, "pcocc", "vm")
		}
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("pcocc-vm-%d", os.Getuid()))
}

// checkBase makes base (mode 0700) and refuses one that another user owns or
// others can enter: in /tmp, another user could have made it first.
func checkBase(base string) error {
	if err := os.MkdirAll(base, 0o700); err != nil {
		return fmt.Errorf("job directory %s: %w", base, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(base, &st); err != nil {
		return fmt.Errorf("job directory %s: %w", base, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Getuid() || st.Mode&0o077 != 0 {
		return fmt.Errorf("job directory %s is not a private directory of yours (mode 0700): remove it", base)
	}
	return nil
}
