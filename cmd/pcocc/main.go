// Command pcocc runs HPC containers and virtual machines without root.
// Installed also as pcocc-rs: both names are the same program.
//
// It is built twice (Makefile): with the tag pcocc_launcher, bin/pcocc,
// the launcher, which runs `pcocc run` and `pcocc __spank check|start` (the
// SPANK plugin's helper) and hands every other command to the
// full program; without it, bin/pcocc-cli, the full program (installed in
// PREFIX/libexec/pcocc). Package cli's launcher.go says why.
package main

import (
	"os"

	"github.com/pcocc/pcocc/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args))
}
