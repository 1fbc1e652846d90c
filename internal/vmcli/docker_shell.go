package vmcli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pcocc/pcocc/internal/dockerenv"
	"github.com/pcocc/pcocc/internal/exitcode"
)

func newDockerShellCmd(e *env) *cobra.Command {
	var t target
	o := &allocOpts{}
	c := &cobra.Command{
		Use:   "shell [-j JOBID|-J NAME] [-E SCRIPT]",
		Short: "Open a shell in a running Docker environment",
		Long: `Open a shell (prompt (pcocc/JOBID)) with DOCKER_HOST set to a running
Docker environment, one started by docker batch for instance, or run
-E SCRIPT in it. The environment goes on when the shell ends.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, args []string) error {
			job, dir, err := dockerTarget(e, &t)
			if err != nil {
				return err
			}
			o.env = []string{"DOCKER_HOST=" + dockerenv.DockerHost(dir)}
			return shellStatus(shellCommand(e, o, job).Run())
		},
	}
	c.Flags().StringVarP(&o.script, "script", "E", "", "run this shell script instead of an interactive shell")
	t.flags(c)
	return c
}

func newDockerEnvCmd(e *env) *cobra.Command {
	var t target
	c := &cobra.Command{
		Use:   "env [-j JOBID|-J NAME]",
		Short: "Print the export lines that point the docker CLI at a Docker environment",
		Long: `Print the shell lines that set DOCKER_HOST (and PCOCC_JOB_ID) for a
running Docker environment: eval "$(pcocc docker env)".`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, args []string) error {
			job, dir, err := dockerTarget(e, &t)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, strings.Join(dockerenv.EnvLines(dir, job.ID), "\n"))
			return nil
		},
	}
	t.flags(c)
	return c
}

// newDockerExchangeCmds move images between repositories and the engine
// with pcocc's own image commands, DOCKER_HOST naming the environment.
func newDockerExchangeCmds(e *env) []*cobra.Command {
	imp := dockerExchangeCmd(e, "import [REPO:]NAME NAME:TAG", "Load an image of a repository into the Docker environment's engine",
		func(args []string) [][]string {
			return [][]string{{"image", "export", args[0], "docker-daemon:" + args[1]}}
		})
	exp := dockerExchangeCmd(e, "export NAME:TAG [REPO:]NAME", "Import an image of the Docker environment's engine into a repository",
		func(args []string) [][]string {
			return [][]string{{"image", "import", "docker-daemon:" + args[0], args[1]}}
		})
	build := dockerExchangeCmd(e, "build PATH [REPO:]NAME", "Build PATH with the Docker environment's engine and import the image into a repository",
		func(args []string) [][]string {
			tag := dockerenv.BuildTag(args[1])
			return [][]string{{"docker", "build", "-t", tag, args[0]}, {"image", "import", "docker-daemon:" + tag, args[1]}}
		})
	return []*cobra.Command{imp, exp, build}
}

func dockerExchangeCmd(e *env, use, short string, steps func(args []string) [][]string) *cobra.Command {
	var t target
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  exactArgs(2, "two arguments: "+strings.SplitN(use, " ", 2)[1]),
		RunE: func(c *cobra.Command, args []string) error {
			_, dir, err := dockerTarget(e, &t)
			if err != nil {
				return err
			}
			for _, s := range steps(args) {
				if err := runWithEngine(e, dir, s); err != nil {
					return err
				}
			}
			return nil
		},
	}
	t.flags(c)
	return c
}

// runWithEngine runs the docker CLI (argv[0] "docker") or pcocc with
// DOCKER_HOST set to the job's engine.
func runWithEngine(e *env, dir string, argv []string) error {
	prog := argv[0]
	if prog != "docker" {
		p, err := pcoccProgram(e)
		if err != nil {
			return err
		}
		prog, argv = p, append([]string{e.name}, argv...)
	}
	cmd := exec.Command(prog, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+dockerenv.DockerHost(dir))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); ok {
			return shellStatus(err)
		}
		return exitcode.Wrap(exitcode.Failure, fmt.Errorf("%s: %w", prog, err))
	}
	return nil
}

// pcoccProgram is pcocc beside pcocc-vm, or in ../../bin when pcocc-vm is
// installed in libexec/pcocc.
func pcoccProgram(e *env) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(exe)
	for _, p := range []string{filepath.Join(dir, "pcocc"), filepath.Join(dir, "..", "..", "bin", "pcocc")} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed beside %s: docker import, export and build need it", "pcocc", exe)
}
