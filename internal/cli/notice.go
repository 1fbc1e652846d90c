package cli

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/namesum"
)

// noticeOnce prints each configuration notice the first time a user meets
// it: a marker per notice and file under $XDG_STATE_HOME/pcocc/notices
// (~/.local/state) remembers it. Without a home directory, or when the
// marker cannot be written, the notice is printed every time.
func (g *Globals) noticeOnce(notices []config.Notice) {
	for _, n := range notices {
		marker := noticeMarker(n)
		if marker != "" {
			if _, err := os.Stat(marker); err == nil {
				continue
			}
		}
		if !g.Quiet {
			fmt.Fprintf(g.Stderr, "pcocc: notice: %s\n", n.Text)
		}
		if marker != "" && os.MkdirAll(filepath.Dir(marker), 0o755) == nil {
			os.WriteFile(marker, []byte(n.File+"\n"), 0o644)
		}
	}
}

func noticeMarker(n config.Notice) string {
	base := os.Getenv("XDG_STATE_HOME")
	if !filepath.IsAbs(base) {
		home := os.Getenv("HOME")
		if !filepath.IsAbs(home) {
			return ""
		}
		base = filepath.Join(home, ".local", "state")
	}
	sum := namesum.Sum256([]byte(n.File + "\n" + n.Text))
	return filepath.Join(base, "pcocc", "notices", hex.EncodeToString(sum[:8]))
}
