package vmrun

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/vm"
)

// The probe firmware runs: under TCG it prints K and QEMU exits at once.
func TestProbeBIOSRuns(t *testing.T) {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 is not installed (scripts/deps.sh installs it)")
	}
	bios := filepath.Join(t.TempDir(), "bios.bin")
	os.WriteFile(bios, probeBIOS(), 0o600)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "qemu-system-x86_64", "-accel", "tcg", "-nodefaults", "-display", "none",
		"-machine", "pc", "-m", "16M", "-bios", bios, "-serial", "stdio",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04").Output()
	if ctx.Err() != nil || !strings.Contains(string(out), "K") {
		t.Errorf("probe firmware under TCG: %q, %v", out, ctx.Err())
	}
}

func TestDetectAccelForced(t *testing.T) {
	d := t.TempDir()
	if a := DetectAccel(context.Background(), "tcg", d); a != vm.AccelTCG {
		t.Errorf("forced tcg: %s", a)
	}
	if a := DetectAccel(context.Background(), "kvm", d); a != vm.AccelKVM {
		t.Errorf("forced kvm: %s", a)
	}
	if _, err := os.Stat("/dev/kvm"); err != nil {
		if a := DetectAccel(context.Background(), "", d); a != vm.AccelTCG {
			t.Errorf("no /dev/kvm: %s", a)
		}
	}
}
