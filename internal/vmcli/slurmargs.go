package vmcli

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// splitArgs is alloc's and batch's command line, split as the original
// pcocc did: pcocc's own options (with their values), the other options,
// which go to salloc or sbatch verbatim and in order, and the positional
// arguments (the cluster definition).
type splitArgs struct {
	own   []string // for the command's flag set
	slurm []string // for salloc/sbatch
	pos   []string
}

// splitSlurmArgs separates args by fs, pcocc's flags. An option fs does not
// know goes to Slurm, and so does a word right after it when it has no
// "=VALUE" (Slurm's options take their value either way); the last
// argument, unless it is the value of one of pcocc's options, is always
// positional (the definition) when the command takes one (positional).
// Short options grouped in one word must be all pcocc's or all Slurm's.
// After "--" everything is positional.
func splitSlurmArgs(fs *pflag.FlagSet, args []string, positional bool) (splitArgs, error) {
	var s splitArgs
	afterUnknown := false // the previous word was a Slurm option without =VALUE
	for i := 0; i < len(args); i++ {
		a, last := args[i], i == len(args)-1
		switch {
		case a == "--":
			s.pos = append(s.pos, args[i+1:]...)
			return s, nil
		case a == "-" || !strings.HasPrefix(a, "-"):
			if afterUnknown && (!last || !positional) {
				s.slurm = append(s.slurm, a)
			} else {
				s.pos = append(s.pos, a)
			}
			afterUnknown = false
			continue
		}
		f, consumed, err := ownFlag(fs, a)
		if err != nil {
			return s, err
		}
		if f == nil {
			s.slurm = append(s.slurm, a)
			afterUnknown = !strings.Contains(a, "=")
			continue
		}
		afterUnknown = false
		s.own = append(s.own, a)
		if !consumed && f.NoOptDefVal == "" {
			if last {
				return s, fmt.Errorf("flag needs an argument: %s", a)
			}
			i++
			s.own = append(s.own, args[i])
		}
	}
	return s, nil
}

// ownFlag is the flag of fs that word a (which starts with "-") names, nil
// if it is Slurm's; consumed says a holds the flag's value too (--x=v,
// -xv, or a group of boolean flags).
func ownFlag(fs *pflag.FlagSet, a string) (f *pflag.Flag, consumed bool, err error) {
	if strings.HasPrefix(a, "--") {
		name, _, hasValue := strings.Cut(a[2:], "=")
		return fs.Lookup(name), hasValue, nil
	}
	f = fs.ShorthandLookup(a[1:2])
	if f == nil || len(a) == 2 {
		return f, false, nil
	}
	if f.NoOptDefVal == "" {
		return f, true, nil // -c4
	}
	// A group of pcocc's boolean flags (-vh); a Slurm letter among them
	// would be lost, or taken for pcocc's.
	for _, c := range a[2:] {
		g := fs.ShorthandLookup(string(c))
		if g == nil || g.NoOptDefVal == "" {
			return nil, false, fmt.Errorf("%s: pcocc's and Slurm's options in one word: write them apart", a)
		}
	}
	return f, true, nil
}

// refusedSlurm are Slurm's options that pcocc owns under another name or
// that would break a cluster (one task per VM, the launcher as the job's
// command, its credential in the environment): long names, and their
// one-letter forms. A prefix of a long name is refused too, since Slurm
// takes an unambiguous prefix for the whole name.
var refusedSlurm = []struct{ long, short, why string }{
	{"ntasks", "n", "pcocc runs one task per VM, counted from the cluster definition"},
	{"cpus-per-task", "", "cores per VM are pcocc's -c"},
	{"wrap", "", "the job's command is pcocc's"},
	{"export", "", "pcocc's launcher needs the submitting environment"},
	{"export-file", "", "pcocc's launcher needs the submitting environment"},
}

// checkSlurmArgs refuses, with one line, a Slurm option of refusedSlurm,
// and a heterogeneous job's ":" (one set of tasks, one per VM).
func checkSlurmArgs(args []string) error {
	for _, a := range args {
		if a == ":" {
			return fmt.Errorf(`":": a heterogeneous job is not a pcocc cluster`)
		}
		if why := refusedSlurmOption(a); why != "" {
			return fmt.Errorf("%s: %s", a, why)
		}
	}
	return nil
}

func refusedSlurmOption(a string) string {
	if name, ok := strings.CutPrefix(a, "--"); ok {
		name, _, _ = strings.Cut(name, "=")
		for _, r := range refusedSlurm {
			if len(name) >= 2 && strings.HasPrefix(r.long, name) {
				return r.why
			}
		}
		return ""
	}
	if len(a) < 2 || a[0] != '-' {
		return "" // a value
	}
	for _, r := range refusedSlurm {
		if r.short != "" && a[1:2] == r.short {
			return r.why
		}
	}
	return ""
}
