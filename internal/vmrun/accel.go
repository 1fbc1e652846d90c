package vmrun

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/pcocc/pcocc/internal/vm"
)

// probeBIOS is a 64 KiB firmware whose reset vector writes 'K' to the serial
// port and exits QEMU through isa-debug-exit: a guest that runs at all.
// Under a KVM that cannot run guests (no VMX/SVM, nested off) QEMU hangs or
// fails instead, which /dev/kvm being there does not tell.
func probeBIOS() []byte {
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = 0xf4 // hlt
	}
	code := []byte{0xba, 0xf8, 0x03, 0xb0, 'K', 0xee, 0xb0, 0x00, 0xe6, 0xf4, 0xf4} // mov dx,0x3f8; mov al,'K'; out dx,al; mov al,0; out 0xf4,al; hlt
	copy(b[len(b)-16:], code)
	return b
}

// DetectAccel says whether KVM runs guests here, by booting the probe
// firmware under KVM with a timeout; the answer is cached in cacheDir per
// boot of the node. forced ("kvm" or "tcg", from the configuration or
// PCOCC_VM_ACCEL) skips the probe.
func DetectAccel(ctx context.Context, forced, cacheDir string) vm.Accel {
	switch forced {
	case "kvm":
		return vm.AccelKVM
	case "tcg":
		return vm.AccelTCG
	}
	if _, err := os.Stat("/dev/kvm"); err != nil {
		return vm.AccelTCG
	}
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	cache := filepath.Join(cacheDir, "accel-"+strings.TrimSpace(string(boot)))
	if b, err := os.ReadFile(cache); err == nil {
		return vm.Accel(strings.TrimSpace(string(b)))
	}
	a := vm.AccelTCG
	if probeKVM(ctx, cacheDir) {
		a = vm.AccelKVM
	}
	os.WriteFile(cache, []byte(a+"\n"), 0o600)
	return a
}

func probeKVM(ctx context.Context, dir string) bool {
	tmp, err := os.MkdirTemp(dir, "kvm-probe-")
	if err != nil {
		return false
	}
	defer os.RemoveAll(tmp)
	bios := filepath.Join(tmp, "bios.bin")
	if os.WriteFile(bios, probeBIOS(), 0o600) != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "qemu-system-x86_64", "-accel", "kvm", "-nodefaults", "-display", "none",
		"-machine", "pc", "-m", "16M", "-bios", bios, "-serial", "stdio",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04").Output()
	return strings.Contains(string(out), "K")
}
