// Package dockerenv is the Docker environment of `pcocc docker`: a VM of a
// docker template runs the engine, and the host's docker CLI reaches it
// through a unix socket of the job directory whose connections go over ssh
// to the VM's /var/run/docker.sock. This file plans (pure); lock.go keeps
// one daemon per data disk; forward.go serves the socket and waits for the
// engine.
package dockerenv

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// Defaults of `pcocc docker alloc`.
const (
	DefaultTemplate = "docker"
	// DefaultTimeout bounds the wait for the engine: under emulation
	// (TCG) it answers after about a minute, more on a loaded node.
	DefaultTimeout = 300 * time.Second
	// MiBPerCore is the VM's memory per allocated core: the engine keeps
	// images and containers in memory (tmpfs) unless the VM has a data disk.
	MiBPerCore = 2048
	// GuestSocket is the engine's socket in the VM.
	GuestSocket = "/var/run/docker.sock"
	// DiskSerial names the data disk to the guest (/dev/disk/by-id/virtio-SERIAL).
	DiskSerial = "pcocc-docker"
)

// FlushCommand runs in the VM before a VM with a data disk is stopped (the
// VM runtime kills QEMU: what the guest has not written would be lost): the
// engine stops, the disk is unmounted.
const FlushCommand = "sudo -n systemctl stop docker.socket docker.service containerd.service; " +
	"sudo -n umount /var/lib/docker || sync"

// Request is what the user asked for.
type Request struct {
	Template string // "" means DefaultTemplate
	Cores    int    // 0 means 1
	Timeout  time.Duration
}

// Plan is what the allocation does.
type Plan struct {
	Def     string // the cluster definition: one VM of the template
	Cores   int
	MemMiB  int
	Timeout time.Duration
}

// NewPlan applies the defaults and the memory rule (MiBPerCore per core).
func NewPlan(r Request) (Plan, error) {
	p := Plan{Def: r.Template, Cores: r.Cores, Timeout: r.Timeout}
	if p.Def == "" {
		p.Def = DefaultTemplate
	}
	if p.Cores < 0 {
		return p, fmt.Errorf("-c %d: the number of cores must be positive", r.Cores)
	}
	if p.Cores == 0 {
		p.Cores = 1
	}
	if p.Timeout < 0 {
		return p, fmt.Errorf("-T %s: the timeout must be positive", r.Timeout)
	}
	if p.Timeout == 0 {
		p.Timeout = DefaultTimeout
	}
	p.MemMiB = p.Cores * MiBPerCore
	return p, nil
}

// SocketDir is the 0700 directory of the job that holds the socket.
func SocketDir(jobDir string) string { return filepath.Join(jobDir, "docker") }

// SocketPath is the socket the host's docker CLI uses.
func SocketPath(jobDir string) string { return filepath.Join(SocketDir(jobDir), "docker.sock") }

// DockerHost is DOCKER_HOST for the job.
func DockerHost(jobDir string) string { return "unix://" + SocketPath(jobDir) }

// EnvLines are what `pcocc docker env` prints, for eval.
func EnvLines(jobDir string, jobID int) []string {
	return []string{
		fmt.Sprintf("export DOCKER_HOST=%s", shellQuote(DockerHost(jobDir))),
		fmt.Sprintf("export PCOCC_JOB_ID=%d", jobID),
	}
}

// DataDiskArgs attach path (raw) as the engine's data disk, found by the
// guest by its serial (the VM runtime's persistent drives have none).
func DataDiskArgs(path string) []string {
	return []string{
		"-drive", "file=" + qemuEscape(path) + ",if=none,id=dockerdata,format=raw,cache=writeback",
		"-device", "virtio-blk-pci,drive=dockerdata,serial=" + DiskSerial,
	}
}

// qemuEscape doubles commas, QEMU's escape inside an option value.
func qemuEscape(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// shellQuote quotes s for sh when it needs it.
func shellQuote(s string) string {
	for _, c := range s {
		if !(c == '/' || c == '.' || c == '-' || c == '_' || c == ':' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			q := "'"
			for _, c := range s {
				if c == '\'' {
					q += `'\''`
				} else {
					q += string(c)
				}
			}
			return q + "'"
		}
	}
	return s
}

// BuildTag is the engine's tag for `pcocc docker build PATH [REPO:]NAME`:
// NAME, lower case as Docker wants, with the tag latest.
func BuildTag(dest string) string {
	name := dest
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.IndexByte(name, '@'); i >= 0 {
		name = name[:i]
	}
	return strings.ToLower(name) + ":latest"
}
