package e2e

import (
	"strings"
	"testing"
)

// Under batch.yaml type: slurm the Docker environment refuses, one line,
// status 2, rather than start its VM on the node the command runs on; no
// job is made.
func TestDockerEnvSlurmRefused(t *testing.T) {
	v := newSlurmVMEnv(t)
	for _, verb := range []string{"alloc", "batch"} {
		_, errs, code := v.pcocc("docker", verb, "-p", "debug", "-c", "1", "-E", "docker version")
		if code != 2 || !strings.Contains(errs, "docker "+verb+": the Docker environment does not run through Slurm") ||
			strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("docker %s: exit %d, stderr %q", verb, code, errs)
		}
	}
	if jobs := jobDirs(v.jobsDir()); len(jobs) != 0 {
		t.Errorf("jobs made: %v", jobs)
	}
}
