package vmnet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// HolderCommand is the hidden subcommand under which a program runs
// HolderMain (pcocc-vm __vmnet-holder DIR).
const HolderCommand = "__vmnet-holder"

// holderInput is what Start sends the holder on its stdin.
type holderInput struct {
	Plan Plan
	Dir  string
}

// HolderMain is the namespace's init (pid 1 of its pid namespace, root of
// its user namespace): it builds the network from the plan read on stdin,
// starts dnsmasq, says "ok" (or the error) on fd 3, then reaps whatever ends
// up its child until dnsmasq dies. Killing it (SIGKILL) kills everything
// inside. Returns the exit status.
func HolderMain() int {
	ready := os.NewFile(3, "ready")
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "vmnet holder:", err)
		fmt.Fprintln(ready, "error:", oneLine(err.Error()))
		return 1
	}
	var in holderInput
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		return fail(fmt.Errorf("reading the plan: %w", err))
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGCHLD)
	dnsmasq, err := setup(in.Plan, in.Dir)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintln(ready, "ok")
	ready.Close()
	for range sigs {
		if st, dead := reap(dnsmasq); dead {
			fmt.Fprintf(os.Stderr, "vmnet holder: dnsmasq exited (%s): the network is down\n", st)
			return 1
		}
	}
	return 0
}

// setup builds the network and returns dnsmasq's pid once it answers.
func setup(p Plan, dir string) (int, error) {
	for _, c := range p.SetupCommands() {
		if err := runQuiet(c, ""); err != nil {
			return 0, err
		}
	}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0); err != nil {
		return 0, fmt.Errorf("enabling forwarding: %w", err)
	}
	if err := runQuiet([]string{"nft", "-f", "-"}, p.NFTRules()); err != nil {
		return 0, err
	}
	proc, err := os.StartProcess(lookPath("dnsmasq"), append([]string{"dnsmasq"}, p.DnsmasqArgs(dir)...),
		&os.ProcAttr{Files: []*os.File{nil, os.Stderr, os.Stderr}})
	if err != nil {
		return 0, fmt.Errorf("starting dnsmasq: %w", err)
	}
	// Answering on TCP 53 means it has bound its sockets (DHCP included).
	addr := net.JoinHostPort(p.BridgeAddr.String(), "53")
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return proc.Pid, nil
		}
		var ws syscall.WaitStatus
		if pid, _ := syscall.Wait4(proc.Pid, &ws, syscall.WNOHANG, nil); pid == proc.Pid {
			return 0, fmt.Errorf("dnsmasq exited (%s) before answering: see its messages above", describe(ws))
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("dnsmasq does not answer on %s after 10s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reap collects every dead child (orphans in the namespace come to pid 1)
// and says whether dnsmasq was one of them.
func reap(dnsmasq int) (string, bool) {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return "", false
		}
		if pid == dnsmasq {
			return describe(ws), true
		}
	}
}

func describe(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "signal " + ws.Signal().String()
	}
	return fmt.Sprintf("exit status %d", ws.ExitStatus())
}

// runQuiet runs a tool; its error names the command and its message.
func runQuiet(argv []string, stdin string) error {
	cmd := exec.Command(lookPath(argv[0]), argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := oneLine(out.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s: %s", strings.Join(argv, " "), msg)
	}
	return nil
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
