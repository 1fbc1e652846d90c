// Package slurm is the Go side of the SPANK plugin (spank/): the option
// strings the plugin hands over unchanged, the rule that decides which of a
// task's variables reach its container (applied by the plugin), and the
// records the helper sends back to the plugin. See spank/README.md for the contract.
package slurm

import "strings"

// Options are the plugin's options, as the user wrote them.
type Options struct {
	Image      string // --ctr
	Mounts     string // --ctr-mount: mount specs, ':' separated
	Modules    string // --ctr-module: module names, ',' separated
	Env        string // --ctr-env: env specs, ',' separated
	NoDefaults bool   // --ctr-no-defaults
	Workdir    string // --ctr-workdir
	KernelTree string // --kernel-tree (start only): the image, mounted there by the plugin
}

// EnvSpecs splits a --ctr-env value on the commas outside parentheses, so
// that a regex such as re(^X{1,2}$) stays one spec. Empty items are dropped.
func EnvSpecs(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i <= len(s); i++ {
		switch {
		case i == len(s) || (s[i] == ',' && depth == 0):
			if item := s[start:i]; item != "" {
				out = append(out, item)
			}
			start = i + 1
		case s[i] == '(':
			depth++
		case s[i] == ')' && depth > 0:
			depth--
		}
	}
	return out
}

// Modules splits a --ctr-module value like `pcocc run -M` does.
func Modules(s string) []string {
	var out []string
	for _, m := range strings.Split(s, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// KeepPrefixes and KeepNames select the task variables that reach the
// container over its planned environment: what Slurm, PMI, PMIx and Open MPI
// set for each task (its rank, the PMIx server's address...), and the device
// lists of the GRES plugins. Every other variable of the task (the submit
// shell's, which srun exports by default) is dropped: the host environment
// is not propagated (docs/modules.md, "Environment variables"). The rule is
// sent to the plugin as "keep" records (Result.Write), and applied there, in
// each task (spank/join.c).
var (
	KeepPrefixes = []string{"SLURM_", "SLURMD_", "PMI_", "PMIX_", "OMPI_"}
	KeepNames    = []string{"CUDA_VISIBLE_DEVICES", "GPU_DEVICE_ORDINAL", "ROCR_VISIBLE_DEVICES", "ZE_AFFINITY_MASK"}
)

// TaskDefaults are set in every task whose environment lacks them after
// the rule above. PMIx clients use the hash data store: the server's
// shared-memory store lives in slurmd's spool directory (PMIX_SERVER_TMPDIR),
// which the container does not see and which is not known when the node's
// container is made (a site module that mounts the spool directory may set
// PMIX_MCA_gds itself).
var TaskDefaults = []string{"PMIX_MCA_gds=hash"}
