package vmcli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/dockerenv"
	"github.com/pcocc/pcocc/internal/exitcode"
	"github.com/pcocc/pcocc/internal/vmclient"
	"github.com/pcocc/pcocc/internal/vmjob"
)

// dockerTarget is the targeted Docker environment and the directory of the
// socket its engine is reached through on this host: the job directory of
// a local one; under Slurm, this host's directory of the job, served by
// the launcher when it runs here, else by a forwarder started now.
func dockerTarget(e *env, t *target) (*vmjob.Job, string, error) {
	b, err := batchManager(newCatalog(e))
	if err != nil {
		return nil, "", err
	}
	if b.Type != config.BatchSlurm {
		job, err := t.job(e)
		if err != nil {
			return nil, "", err
		}
		if _, err := os.Stat(dockerenv.SocketPath(job.Dir)); err != nil {
			return nil, "", notDocker(job.ID)
		}
		return job, job.Dir, nil
	}
	job, err := t.slurmJob(e, b)
	if err != nil {
		return nil, "", err
	}
	dir, err := dockerenv.NodeDir(os.TempDir(), os.Getuid(), job.ID)
	if err != nil {
		return nil, "", err
	}
	return job, dir, startForwarder(e, job.ID, dir)
}

func notDocker(id int) error {
	return fmt.Errorf("job %d is not a Docker environment, or its engine is not ready yet (pcocc docker alloc starts one)", id)
}

// forwardCommand is the hidden command that serves a Slurm job's engine
// socket on this host until the job's VM is gone.
const forwardCommand = "__docker-forward"

// startForwarder starts, unless a process serves dir already, a forwarder
// in a session of its own, and waits for its first line: "ok" once the
// engine answers through the socket, else why not.
func startForwarder(e *env, id int, dir string) error {
	if dockerenv.Served(dir) {
		return waitSocket(dir, id)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	// In "/": a forwarder outlives the command and must not hold its
	// directory busy.
	cmd := &exec.Cmd{Path: self, Args: []string{e.name, forwardCommand, "-j", strconv.Itoa(id)}, Dir: "/",
		ExtraFiles: []*os.File{w}, SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return fmt.Errorf("the Docker socket's forwarder: %w", err)
	}
	go cmd.Wait()
	line, _ := bufio.NewReader(r).ReadString('\n')
	switch line = strings.TrimSpace(line); line {
	case "ok":
		return waitSocket(dir, id)
	case "":
		return fmt.Errorf("job %d: the Docker socket's forwarder ended without a word", id)
	}
	return errors.New(line)
}

// waitSocket waits a little for the socket of a server that is starting.
func waitSocket(dir string, id int) error {
	for i := 0; i < 600; i++ {
		if _, err := os.Stat(dockerenv.SocketPath(dir)); err == nil {
			return nil
		}
		if !dockerenv.Served(dir) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return notDocker(id)
}

func newForwardCmd(e *env) *cobra.Command {
	var id int
	c := &cobra.Command{
		Use:    forwardCommand + " -j JOBID",
		Hidden: true,
		Args:   exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, args []string) error {
			report := os.NewFile(3, "report")
			err := forward(c.Context(), e, id, func() { fmt.Fprintln(report, "ok"); report.Close() })
			if err != nil {
				fmt.Fprintln(report, err) // before ready only: forward returns no error after it
				return exitcode.Silent(exitcode.Failure)
			}
			return nil
		},
	}
	c.Flags().IntVarP(&id, "jobid", "j", 0, "the Slurm job")
	return c
}

// How often the forwarder asks whether the VM still answers.
const forwardCheck = 15 * time.Second

// forward serves job id's engine socket on this host: ready runs once the
// engine answered through it (or another process serves it); it returns
// when the VM no longer answers (the job ended) or ctx ends. The socket is
// taken only once the engine answers, so that the job's launcher, which
// takes it as soon as the VM runs, is never beaten to it on its own host.
func forward(ctx context.Context, e *env, id int, ready func()) error {
	b, err := batchManager(newCatalog(e))
	if err != nil {
		return err
	}
	t := target{id: id}
	job, err := t.slurmJob(e, b)
	if err != nil {
		return err
	}
	dir, err := dockerenv.NodeDir(os.TempDir(), os.Getuid(), id)
	if err != nil {
		return err
	}
	g := &guestDialer{e: e, job: job}
	connCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := g.connect(connCtx); err != nil {
		return fmt.Errorf("job %d: %w", id, err)
	}
	defer g.close()
	if err := dockerenv.WaitEngine(connCtx, g.dial, 30*time.Second); err != nil {
		return fmt.Errorf("%v: %v", notDocker(id), err)
	}
	unlock, ok, err := dockerenv.ServeLock(dir)
	if err != nil {
		return err
	}
	if !ok {
		ready() // another process serves it
		return nil
	}
	defer unlock()
	ln, err := dockerenv.Listen(dir)
	if err != nil {
		return fmt.Errorf("the Docker socket: %w", err)
	}
	defer ln.Close()
	go dockerenv.Serve(ln, g.dial)
	ready()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(forwardCheck):
		}
		if g.alive() != nil {
			return nil
		}
	}
}

// alive: the ssh connection answers, or a new one could be made.
func (g *guestDialer) alive() error {
	g.mu.Lock()
	cl := g.cl
	g.mu.Unlock()
	if cl != nil && cl.Alive(10*time.Second) == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := vmclient.Dial(ctx, g.cfg)
	if err != nil {
		return err
	}
	g.mu.Lock()
	if g.cl != nil {
		g.cl.Close()
	}
	g.cl = nc
	g.mu.Unlock()
	return nil
}
