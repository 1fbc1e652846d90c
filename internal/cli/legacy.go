//go:build !pcocc_launcher

package cli

// Repositories made by the original pcocc are read wherever repositories
// are: the package registers its format with internal/repo.
import _ "github.com/pcocc/pcocc/internal/legacyrepo"
