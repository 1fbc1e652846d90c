//go:build pcocc_launcher

package config

// VMConfig is not part of the launcher (bin/pcocc): it runs containers
// only, and every VM command is handed to pcocc-cli or pcocc-vm.
type VMConfig struct{}
