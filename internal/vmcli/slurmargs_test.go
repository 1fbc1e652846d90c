package vmcli

import (
	"strings"
	"testing"
)

func TestSplitSlurmArgs(t *testing.T) {
	c := newAllocCmd(&env{}, true)
	c.InitDefaultHelpFlag()
	j := func(a []string) string { return strings.Join(a, " ") }
	for _, tc := range []struct {
		args            string
		own, slurm, pos string
		err             string
	}{
		{"tiny:2", "", "", "tiny:2", ""},
		{"-p debug -c 2 img1:2,img2:3", "-p debug -c 2", "", "img1:2,img2:3", ""},
		{"--partition=debug -c2 -E s.sh tiny", "--partition=debug -c2 -E s.sh", "", "tiny", ""},
		{"-t 10 --ntasks-per-node=1 -p d --exclusive tiny:2", "-p d", "-t 10 --ntasks-per-node=1 --exclusive", "tiny:2", ""},
		{"--time 10 -N2 -w n1 tiny", "", "--time 10 -N2 -w n1", "tiny", ""},
		{"-v --qos=x -J name -o out-%j tiny", "-v -J name -o out-%j", "--qos=x", "tiny", ""},
		// the last word is the definition, even after a Slurm option
		{"--exclusive tiny:2", "", "--exclusive", "tiny:2", ""},
		// a word after a Slurm option with its =VALUE, or after pcocc's, is positional
		{"--qos=x stray tiny", "", "--qos=x", "stray tiny", ""},
		{"-c 2 stray tiny", "-c 2", "", "stray tiny", ""},
		// the definition as -p's value: no definition
		{"-p debug", "-p debug", "", "", ""},
		{"-vh tiny", "-vh", "", "tiny", ""},
		{"--dry-run -- tiny", "--dry-run", "", "tiny", ""},
		{"-vN2 tiny", "", "", "", "-vN2: pcocc's and Slurm's options in one word: write them apart"},
		{"tiny -c", "", "", "", "flag needs an argument: -c"},
	} {
		s, err := splitSlurmArgs(c.Flags(), strings.Fields(tc.args), true)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: err %v, want %s", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || j(s.own) != tc.own || j(s.slurm) != tc.slurm || j(s.pos) != tc.pos {
			t.Errorf("%q: own %q slurm %q pos %q err %v\nwant own %q slurm %q pos %q", tc.args, j(s.own), j(s.slurm), j(s.pos), err, tc.own, tc.slurm, tc.pos)
		}
	}
}

// docker alloc takes no positional argument: a word after a Slurm option
// is its value even at the end; -t is the template (Slurm's is --time).
func TestSplitSlurmArgsDocker(t *testing.T) {
	c := newDockerAllocCmd(&env{}, false)
	c.InitDefaultHelpFlag()
	for args, want := range map[string][3]string{
		"-t docker-persist --time 10 --qos q": {"-t docker-persist", "--time 10 --qos q", ""},
		"-c 2 --exclusive":                    {"-c 2", "--exclusive", ""},
		"-E s.sh stray":                       {"-E s.sh", "", "stray"},
	} {
		s, err := splitSlurmArgs(c.Flags(), strings.Fields(args), false)
		got := [3]string{strings.Join(s.own, " "), strings.Join(s.slurm, " "), strings.Join(s.pos, " ")}
		if err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", args, got, err, want)
		}
	}
}

func TestCheckSlurmArgs(t *testing.T) {
	for args, want := range map[string]string{
		"-t 10 --ntasks-per-node=1 -N 2 --mem-per-cpu=100": "",
		"-w n1 --nodelist n2 -x n3":                        "",
		"-n 3":                                             "-n: pcocc runs one task per VM",
		"-n3":                                              "-n3: pcocc runs one task per VM",
		"--ntasks=3":                                       "--ntasks=3: pcocc runs one task per VM",
		"--ntas=3":                                         "--ntas=3: pcocc runs one task per VM",
		"--cpus-per-task 2":                                "--cpus-per-task: cores per VM are pcocc's -c",
		"--wrap=ls":                                        "--wrap=ls: the job's command is pcocc's",
		"--export=NONE":                                    "--export=NONE: pcocc's launcher needs",
		"--export-file=f":                                  "--export-file=f: pcocc's launcher needs",
		"-t 1 :":                                           `":": a heterogeneous job`,
	} {
		err := checkSlurmArgs(strings.Fields(args))
		if want == "" && err != nil || want != "" && (err == nil || !strings.HasPrefix(err.Error(), want)) {
			t.Errorf("checkSlurmArgs(%q) = %v, want %q", args, err, want)
		}
	}
}
