package qmp

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// startQEMU starts a QEMU with no guest, paused, serving QMP.
func startQEMU(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 is not installed (scripts/deps.sh installs it)")
	}
	sock := filepath.Join(t.TempDir(), "q.sock")
	cmd := exec.Command(bin, "-S", "-nodefaults", "-display", "none", "-accel", "tcg", "-m", "32M",
		"-qmp", "unix:"+sock+",server=on,wait=off")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			return sock
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("qemu made no QMP socket in 5 s")
	return ""
}

func TestClient(t *testing.T) {
	sock := startQEMU(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	status := func() string {
		r, err := c.Execute(ctx, "query-status", nil)
		if err != nil {
			t.Fatal(err)
		}
		var s struct{ Status string }
		json.Unmarshal(r, &s)
		return s.Status
	}
	if s := status(); s != "prelaunch" {
		t.Errorf("status %q, want prelaunch", s)
	}
	if _, err := c.Execute(ctx, "no-such-command", nil); err == nil {
		t.Error("an unknown command succeeded")
	} else if qe := (*Error)(nil); !errors.As(err, &qe) || qe.Class != "CommandNotFound" {
		t.Errorf("unknown command: %v", err)
	}
	if _, err := c.Execute(ctx, "human-monitor-command", map[string]any{"command-line": "info cpus"}); err != nil {
		t.Error(err)
	}
	if _, err := c.Execute(ctx, "quit", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitEvent(ctx, "SHUTDOWN"); err != nil {
		t.Error(err)
	}
}

func TestWaitEventCancelled(t *testing.T) {
	sock := startQEMU(t)
	c, err := Dial(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.WaitEvent(ctx, "NEVER"); err == nil {
		t.Error("WaitEvent returned without the event")
	}
}

func TestDialNoSocket(t *testing.T) {
	if _, err := Dial(context.Background(), filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("Dial of a missing socket succeeded")
	}
}
