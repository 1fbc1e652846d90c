package vmcli

import (
	"context"
	"os"
	"path/filepath"

	"github.com/pcocc/pcocc/internal/sshkeys"
	"github.com/pcocc/pcocc/internal/vmimage"
	"github.com/pcocc/pcocc/internal/vmjob"
)

// userKey is the user's pcocc SSH key (internal/sshkeys), "" when there is
// none yet (ssh then uses the user's own keys).
func userKey(e *env) string {
	d := sshkeys.DefaultDir(e.getenv)
	if d == "" {
		return ""
	}
	k := filepath.Join(d, sshkeys.KeyName)
	if _, err := os.Stat(k); err != nil {
		return ""
	}
	return k
}

// publishSave makes the saved layer a new revision: of the VM's image, or
// of the image dest ([REPO:]NAME). It returns the revision's reference.
func publishSave(ctx context.Context, e *env, v vmjob.VM, dest, layer string) (string, error) {
	c := newCatalog(e)
	base, err := c.revision(v.ImageRef)
	if err != nil {
		return "", err
	}
	r, name := base.Image.Repo, base.Image.Name
	if dest != "" {
		rs, err := c.Repos()
		if err != nil {
			return "", err
		}
		if r, name, err = rs.Dest(dest); err != nil {
			return "", err
		}
	}
	rev, err := vmimage.AddRevision(ctx, r, name, base, layer)
	if err != nil {
		return "", err
	}
	return rev.Ref(), nil
}
