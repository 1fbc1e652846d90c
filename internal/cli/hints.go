package cli

import (
	"fmt"
	"strings"
	"sync"

	"github.com/pcocc/pcocc/internal/lazy"
)

// Hints for what Docker, Podman and Apptainer users type first: their
// options, and an image file or reference where pcocc wants the name of an
// imported image. Each names pcocc's equivalent, or says why there is none.

// foreignOptions maps an option of docker run / apptainer exec that pcocc
// run lacks to the line that replaces it. Built on first use (see package
// lazy).
var foreignOptions = sync.OnceValue(func() map[string]string {
	return map[string]string{
		"--volume":      "mount with --mount src=SRC,dst=DST[,ro] (docker's -v SRC:DST)",
		"--bind":        "mount with --mount src=SRC,dst=DST[,ro] (apptainer's --bind SRC:DST)",
		"-B":            "mount with --mount src=SRC,dst=DST[,ro] (apptainer's -B SRC:DST)",
		"--nv":          "the GPU driver comes with a module: -M nvidia (see 'pcocc module list')",
		"--gpus":        "the GPU driver comes with a module: -M nvidia (see 'pcocc module list'); the visible GPUs are those of your job",
		"--user":        "pcocc runs the program as you, never as another user: there is no --user",
		"-u":            "pcocc runs the program as you, never as another user: there is no -u/--user",
		"--rm":          "nothing is kept after a run: no --rm is needed",
		"-i":            "stdin and the terminal are passed as they are: no -i/-t is needed",
		"-t":            "stdin and the terminal are passed as they are: no -i/-t is needed",
		"--interactive": "stdin and the terminal are passed as they are: no -i/-t is needed",
		"--tty":         "stdin and the terminal are passed as they are: no -i/-t is needed",
		"--pwd":         "the working directory is -w/--cwd DIR",
		"--workdir":     "the working directory is -w/--cwd DIR",
		"--env-file":    "give each variable with -e/--env VAR=VAL, or put them in a module (see 'pcocc help modules')",
		"--privileged":  "pcocc gives no privilege to the program, by design",
		"--net":         "the container has the host's network: there is no --net",
		"--network":     "the container has the host's network: there is no --network",
		"--cleanenv":    "the host's environment is not passed already (see 'pcocc help environment')",
		"--containall":  "pcocc has no such isolation: the host's /tmp, network and processes are seen (see docs/running.md)",
	}
})

// pflag's "unknown flag: --nv" and "unknown shorthand flag: 'u' in -u".
var (
	unknownLong  = lazy.Regexp(`^unknown flag: (--[^ =]+)`)
	unknownShort = lazy.Regexp(`^unknown shorthand flag: '(.)' in -`)
)

// foreignOptionHint returns the line naming pcocc's equivalent of the option
// a flag error is about, or "".
func foreignOptionHint(err error) string {
	msg := err.Error()
	if m := unknownLong().FindStringSubmatch(msg); m != nil {
		return foreignOptions()[m[1]]
	}
	if m := unknownShort().FindStringSubmatch(msg); m != nil {
		return foreignOptions()["-"+m[1]]
	}
	return ""
}

// volumeSpec matches docker's SRC:DST[:OPTS] with paths.
var volumeSpec = lazy.Regexp(`^([~./][^:]*):(/[^:]*)(:(ro|rw))?$`)

// mountSpecHint suggests pcocc's form for a docker-style SRC:DST[:ro].
func mountSpecHint(value string) string {
	m := volumeSpec().FindStringSubmatch(value)
	if m == nil {
		return ""
	}
	s := "src=" + m[1] + ",dst=" + m[2]
	if m[4] == "ro" {
		s += ",ro"
	}
	return fmt.Sprintf("; write it --mount %s (':' separates several specs)", s)
}

func looksLikeFile(s string) bool {
	if strings.ContainsAny(s, "/~") {
		return true
	}
	for _, ext := range []string{".tar", ".tar.gz", ".tgz", ".sif", ".simg", ".sqfs", ".squashfs"} {
		if strings.HasSuffix(s, ext) {
			return true
		}
	}
	return false
}
