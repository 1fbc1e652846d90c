package vmrun

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"

	"github.com/pcocc/pcocc/internal/qmp"
	"github.com/pcocc/pcocc/internal/vm"
)

// Save copies the disk of a running VM to target, a new qcow2 file: only
// what the VM changed, backed by parent by a path relative to target's
// directory (full false), or the whole disk standalone (full true). The VM
// keeps running; the copy is of the disk as it was when Save started.
func Save(ctx context.Context, files vm.Files, target, parent string, full bool) error {
	q, err := qmp.Dial(ctx, files.QMP)
	if err != nil {
		return err
	}
	defer q.Close()
	sync := "top"
	if full {
		sync = "full"
	}
	if _, err := q.Execute(ctx, "drive-backup", map[string]any{
		"device": "disk0", "job-id": "pcocc-save", "sync": sync, "target": target, "format": "qcow2",
	}); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	ev, err := q.WaitEvent(ctx, "BLOCK_JOB_COMPLETED")
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	if jerr := blockJobError(ev); jerr != "" {
		return fmt.Errorf("save: the disk copy failed: %s", jerr)
	}
	if full {
		return nil
	}
	rel, err := filepath.Rel(filepath.Dir(target), parent)
	if err != nil {
		rel = parent
	}
	out, err := exec.CommandContext(ctx, "qemu-img", "rebase", "-u", "-b", rel, "-F", "qcow2", target).CombinedOutput()
	if err != nil {
		return fmt.Errorf("save: qemu-img rebase: %s", FirstLine(out, err))
	}
	return nil
}

func blockJobError(ev qmp.Event) string {
	var d struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return ""
	}
	return d.Error
}
