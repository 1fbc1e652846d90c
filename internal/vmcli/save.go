package vmcli

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/vm"
	"github.com/pcocc/pcocc/internal/vmrun"
)

func newSaveCmd(e *env) *cobra.Command {
	var t target
	var dest string
	var full bool
	c := &cobra.Command{
		Use:   "save [-j JOBID|-J NAME] [-d DEST] [--full] vmN",
		Short: "Save the disk of a VM as a new image revision",
		Long: `Save the disk of a running VM as a new revision of its image, or as a
new image DEST ([REPO:]NAME). The new revision holds only what the VM
changed, on top of the revision it booted (--full: a standalone copy).`,
		Args: exactArgs(1, "a VM name (vm0, vm1, ...)"),
		RunE: func(c *cobra.Command, args []string) error {
			var flags []string // for the node of a Slurm cluster's VM
			if dest != "" {
				flags = append(flags, "-d", dest)
			}
			if full {
				flags = append(flags, "--full")
			}
			j, v, err := t.localVM(e, args[0], "save", flags...)
			if err != nil || j == nil {
				return err // j == nil: saved on the VM's node (srun), or failed there
			}
			if v.Image == "" {
				return fmt.Errorf("%s has no disk to save", v.Name)
			}
			ctx, cancel := context.WithTimeout(c.Context(), 30*time.Minute)
			defer cancel()
			layer := filepath.Join(j.Dir, v.Name+"-save.qcow2")
			files := vm.FilesFor(j.Dir, vmIndex(v))
			fmt.Fprintf(e.stderr, "Saving %s...\n", v.Name)
			if err := vmrun.Save(ctx, files, layer, v.Image, full); err != nil {
				return err
			}
			ref, err := publishSave(ctx, e, v, dest, layer)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s saved as %s\n", v.Name, ref)
			return nil
		},
	}
	c.Flags().StringVarP(&dest, "dest", "d", "", "save as this image ([REPO:]NAME) instead of a new revision of the VM's image")
	c.Flags().BoolVar(&full, "full", false, "save the whole disk, not only the changes")
	t.flags(c)
	return c
}
