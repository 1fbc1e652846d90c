package vmcli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/vmjob"
)

func newNcCmd(e *env) *cobra.Command {
	var t target
	c := &cobra.Command{
		Use:   "nc [-j JOBID|-J NAME] vmN PORT",
		Short: "Connect standard input and output to a TCP port of a VM",
		Long: `Connect standard input and output to a TCP port of a VM through the
cluster's reverse NAT: port 22, and the ports its template names. ssh and
scp use it as their proxy command.`,
		Args: exactArgs(2, "a VM name and a port"),
		RunE: func(c *cobra.Command, args []string) error {
			_, v, err := t.vm(e, args[0])
			if err != nil {
				return err
			}
			port, err := strconv.Atoi(args[1])
			host, ok := v.Ports[port]
			if err != nil || !ok {
				return fmt.Errorf("%s: port %s is not forwarded (%s)", v.Name, args[1], forwarded(v))
			}
			addr := v.Host
			if addr == "" {
				addr = "127.0.0.1"
			}
			conn, err := net.Dial("tcp", net.JoinHostPort(addr, strconv.Itoa(host)))
			if err != nil {
				return fmt.Errorf("%s: port %d: %w", v.Name, port, err)
			}
			defer conn.Close()
			done := make(chan struct{}, 2)
			go func() { io.Copy(e.stdout, conn); done <- struct{}{} }()
			go func() { io.Copy(conn, e.stdin); conn.(*net.TCPConn).CloseWrite() }()
			<-done
			return nil
		},
	}
	t.flags(c)
	return c
}

// forwarded lists a VM's forwarded guest ports, for messages.
func forwarded(v vmjob.VM) string {
	var ps []int
	for p := range v.Ports {
		ps = append(ps, p)
	}
	sort.Ints(ps)
	if len(ps) == 0 {
		return "it has none"
	}
	return "forwarded: " + strings.Trim(fmt.Sprint(ps), "[]")
}

// vmHost matches [user@]vmN, alone or before a ':' (scp).
var vmHost = regexp.MustCompile(`^([^@:/]+@)?(vm[0-9]+)(:.*)?$`)

// sshOptions make ssh reach VMs of job by name through `nc`, checking the
// host keys their seeds gave them (the job's known_hosts: a new cluster has
// new keys, and the user's own known_hosts is left alone).
func sshOptions(e *env, job *vmjob.Job) ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	known, strict := filepath.Join(job.Dir, knownHostsFile), "yes"
	if _, err := os.Stat(known); err != nil {
		known, strict = "/dev/null", "no" // a job with no recorded keys
	}
	opts := []string{
		"-o", fmt.Sprintf("ProxyCommand=%s nc -j %d %%h 22", exe, job.ID),
		"-o", "StrictHostKeyChecking=" + strict,
		"-o", "UserKnownHostsFile=" + known,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR",
	}
	if key := userKey(e); key != "" {
		opts = append(opts, "-i", key)
	}
	return opts, nil
}

// takeTarget removes leading -j N / -J NAME from args (ssh and scp pass
// every other option to the OpenSSH client).
func takeTarget(args []string) (target, []string, error) {
	var t target
	for len(args) >= 2 && (args[0] == "-j" || args[0] == "-J") {
		if args[0] == "-j" {
			id, err := strconv.Atoi(args[1])
			if err != nil {
				return t, nil, usageErr("-j %s: not a job id", args[1])
			}
			t.id = id
		} else {
			t.name = args[1]
		}
		args = args[2:]
	}
	return t, args, nil
}

func newSSHCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:                "ssh [-j JOBID|-J NAME] [ssh options] [user@]vmN [command]",
		Short:              "Run ssh to a VM",
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			return runOpenSSH(e, "ssh", args)
		},
	}
}

func newSCPCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:                "scp [-j JOBID|-J NAME] [scp options] SOURCE... TARGET",
		Short:              "Copy files to or from VMs ([user@]vmN:PATH)",
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			return runOpenSSH(e, "scp", args)
		},
	}
}

func runOpenSSH(e *env, prog string, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintf(e.stdout, "Usage: %s %s [-j JOBID|-J NAME] [%s options] ... ([user@]vmN names a VM of the cluster)\n", e.name, prog, prog)
		return nil
	}
	t, args, err := takeTarget(args)
	if err != nil {
		return err
	}
	found := false
	for _, a := range args {
		found = found || vmHost.MatchString(a)
	}
	if !found {
		return usageErr("%s: name a VM as [user@]vmN", prog)
	}
	job, err := t.job(e)
	if err != nil {
		return err
	}
	opts, err := sshOptions(e, job)
	if err != nil {
		return err
	}
	cmd := exec.Command(prog, append(opts, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
	return shellStatus(cmd.Run())
}

func newExecCmd(e *env) *cobra.Command {
	var t target
	var index int
	var user string
	c := &cobra.Command{
		Use:   "exec [-j JOBID|-J NAME] [-i INDEX] [-u USER] COMMAND...",
		Short: "Run a command in the VMs of a cluster (over ssh)",
		Long: `Run a command in every VM of the cluster at once, or in VM INDEX only
(-i), over ssh. The output of each VM is printed when it finishes, in VM
order; the exit status is the highest of the VMs'.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			job, err := t.job(e)
			if err != nil {
				return err
			}
			vms := job.VMs
			if index >= 0 {
				v, err := job.VM(fmt.Sprintf("vm%d", index))
				if err != nil {
					return err
				}
				vms = []vmjob.VM{v}
			}
			return execAll(c.Context(), e, job, vms, user, args)
		},
	}
	c.Flags().IntVarP(&index, "index", "i", -1, "run in VM INDEX only")
	c.Flags().StringVarP(&user, "user", "u", "", "the user to log in as")
	c.Flags().SetInterspersed(false)
	t.flags(c)
	return c
}

func execAll(ctx context.Context, e *env, job *vmjob.Job, vms []vmjob.VM, user string, args []string) error {
	opts, err := sshOptions(e, job)
	if err != nil {
		return err
	}
	outs := make([]bytes.Buffer, len(vms))
	codes := make([]int, len(vms))
	var wg sync.WaitGroup
	for i, v := range vms {
		host := v.Name
		if user != "" {
			host = user + "@" + host
		}
		cmd := exec.CommandContext(ctx, "ssh", append(append(opts, host, "--"), strings.Join(args, " "))...)
		if len(vms) == 1 {
			cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
		} else {
			cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := shellStatus(cmd.Run()); err != nil {
				codes[i] = exitcode.Of(err)
			}
		}()
	}
	wg.Wait()
	worst := 0
	for i := range vms {
		e.stdout.Write(outs[i].Bytes())
		worst = max(worst, codes[i])
	}
	if worst != 0 {
		return exitcode.Silent(worst)
	}
	return nil
}
