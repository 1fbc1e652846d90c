package vmguest

import (
	"bytes"
	"cmp"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/sshkeys"
)

// The Debian test guest (scripts/vm-images.sh debian) booted with a seed of
// this package: the user's key logs in as the user, the host key is the one
// pcocc gave (checked, not trusted on first use), the template's user-data
// ran, sudo works. Minutes under emulation: only with
// PCOCC_TEST_VM_IMAGES=full, as the image build itself.
func TestDebianGuestWithSeed(t *testing.T) {
	if os.Getenv("PCOCC_TEST_VM_IMAGES") != "full" {
		t.Skip("PCOCC_TEST_VM_IMAGES=full runs it (minutes)")
	}
	img := filepath.Join(cmp.Or(os.Getenv("PCOCC_VM_IMAGES"),
		filepath.Join(cmp.Or(os.Getenv("PCOCC_CI_DIR"), "/var/tmp/pcocc-ci"), "vm-images")), "debian")
	if _, err := os.Stat(filepath.Join(img, "disk.qcow2")); err != nil {
		t.Skip("no Debian guest: scripts/vm-images.sh debian")
	}
	dir := t.TempDir()
	pair, err := sshkeys.Ensure(filepath.Join(dir, "ssh"), "test")
	if err != nil {
		t.Fatal(err)
	}
	hk, err := sshkeys.NewHostKey("vm1")
	if err != nil {
		t.Fatal(err)
	}
	tpl := config.VMTemplate{Name: "debian",
		UserDataInline: "#cloud-config\nwrite_files:\n- path: /etc/pcocc-marker\n  content: merged\n"}
	g, err := Plan(Request{Template: tpl, Index: 1, User: "alice", AuthorizedKey: pair.Authorized, HostKey: &hk})
	if err != nil {
		t.Fatal(err)
	}
	seed := filepath.Join(dir, "seed.iso")
	if err := g.WriteSeed(seed); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	var console bytes.Buffer
	qemu := exec.CommandContext(ctx, "qemu-system-x86_64", "-accel", "tcg", "-machine", "q35", "-cpu", "max",
		"-smp", "2", "-m", "1024", "-display", "none", "-nodefaults", "-no-reboot", "-serial", "stdio",
		"-kernel", filepath.Join(img, "vmlinuz"), "-initrd", filepath.Join(img, "initrd.img"),
		"-append", "console=ttyS0 root=/dev/vda rw net.ifnames=0 panic=-1",
		"-drive", "file="+filepath.Join(img, "disk.qcow2")+",if=virtio,format=qcow2,snapshot=on",
		"-drive", "file="+seed+",if=virtio,format=raw,readonly=on",
		"-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:"+strconv.Itoa(port)+"-:22", "-device", "virtio-net-pci,netdev=n0")
	qemu.Stdout, qemu.Stderr = &console, &console
	if err := qemu.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { qemu.Process.Kill(); qemu.Wait() }()
	cfg := &ssh.ClientConfig{
		User:            "alice",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(pair.Signer())},
		HostKeyCallback: ssh.FixedHostKey(hk.PublicKey()),
		// The post-quantum exchange costs an emulated guest a minute.
		Config:  ssh.Config{KeyExchanges: []string{"curve25519-sha256"}},
		Timeout: 3 * time.Minute,
	}
	out, err := runWhenUp(ctx, "127.0.0.1:"+strconv.Itoa(port), cfg,
		"hostname; cat /etc/pcocc-marker; echo; sudo -n id -u")
	if err != nil {
		t.Fatalf("ssh: %v\nconsole:\n%s", err, console.String())
	}
	if want := "vm1\nmerged\n0\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
}

// runWhenUp retries the command until sshd answers or ctx ends.
func runWhenUp(ctx context.Context, addr string, cfg *ssh.ClientConfig, cmd string) (string, error) {
	for {
		c, err := ssh.Dial("tcp", addr, cfg)
		if err == nil {
			defer c.Close()
			s, err := c.NewSession()
			if err != nil {
				return "", err
			}
			out, err := s.Output(cmd)
			return string(out), err
		}
		select {
		case <-ctx.Done():
			return "", err
		case <-time.After(5 * time.Second):
		}
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
