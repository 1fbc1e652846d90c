// Command pcocc-vm runs pcocc's virtual machine commands (alloc, batch, ps,
// console, reset, nc, ssh, scp, exec, save). pcocc executes it for those
// commands; it is a program of its own, installed next to pcocc (or in
// PREFIX/libexec/pcocc), so that the QEMU, QMP, network and SSH code it links
// never adds to the start time of `pcocc run`, which every container pays.
// argv[0] is the name the user called pcocc by, for messages.
package main

import (
	"os"

	"github.com/pcocc/pcocc/internal/vmcli"
)

func main() {
	os.Exit(vmcli.Main(os.Args))
}
