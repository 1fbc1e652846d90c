package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pcocc/pcocc/internal/exitcode"
)

// libexecProgram finds one of pcocc's programs (pcocc-vm, pcocc-cli)
// next to the running one, then in ../libexec/pcocc, as the container init
// is found.
func libexecProgram(name string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", exitcode.Wrap(exitcode.Failure, fmt.Errorf("cannot find %s: %w", name, err))
	}
	dir := filepath.Dir(exe)
	for _, p := range []string{
		filepath.Join(dir, name),
		filepath.Join(dir, "..", "libexec", "pcocc", name),
	} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exitcode.Wrap(exitcode.Failure, fmt.Errorf("%s is not installed next to %s nor in %s: pcocc needs it (make install puts it there)",
		name, exe, filepath.Join(dir, "..", "libexec", "pcocc")))
}
