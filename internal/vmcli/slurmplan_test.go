package vmcli

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pcocc/pcocc/internal/vm"
)

func TestSubmitArgv(t *testing.T) {
	base := slurmJob{Def: "img1:2,img2:3", NVMs: 5, Cores: 4, Network: "pcocc", Self: "/usr/libexec/pcocc/pcocc-vm"}
	for _, tc := range []struct {
		name  string
		j     func(j slurmJob) slurmJob
		batch bool
		want  string
	}{
		{"seed line: pcocc alloc -p part -c 4 img1:2,img2:3", func(j slurmJob) slurmJob { j.Partition = "part"; return j }, false,
			"salloc -n 5 -c 4 -p part -J pcocc --distribution=block:block -- /usr/libexec/pcocc/pcocc-vm __slurm-launch --network pcocc -c 4 img1:2,img2:3"},
		{"memory, name, account, site args first", func(j slurmJob) slurmJob {
			j.MemMiB, j.Name, j.Account, j.BatchArgs = 1000, "x", "acct", []string{"--qos=vm", "-t", "10"}
			return j
		}, false,
			"salloc --qos=vm -t 10 -n 5 -c 4 --mem-per-cpu=250 -J x -A acct --distribution=block:block -- /usr/libexec/pcocc/pcocc-vm __slurm-launch --network pcocc -c 4 -m 1000 img1:2,img2:3"},
		{"memory rounded up per cpu", func(j slurmJob) slurmJob { j.MemMiB, j.Cores = 1001, 2; return j }, false,
			"salloc -n 5 -c 2 --mem-per-cpu=501 -J pcocc --distribution=block:block -- /usr/libexec/pcocc/pcocc-vm __slurm-launch --network pcocc -c 2 -m 1001 img1:2,img2:3"},
		{"script and verbose", func(j slurmJob) slurmJob { j.Script, j.Verbose = "./run.sh", true; return j }, false,
			"salloc -n 5 -c 4 -J pcocc --distribution=block:block -- /usr/libexec/pcocc/pcocc-vm __slurm-launch --network pcocc -E ./run.sh -c 4 -v img1:2,img2:3"},
		{"batch wraps the launcher, quoted", func(j slurmJob) slurmJob { j.Script = "echo 'hi' $X"; return j }, true,
			"sbatch -n 5 -c 4 -J pcocc --distribution=block:block -o pcocc-%j.out --wrap=exec /usr/libexec/pcocc/pcocc-vm __slurm-launch --network pcocc -E 'echo '\\''hi'\\'' $X' -c 4 img1:2,img2:3"},
		{"user's Slurm options after pcocc's", func(j slurmJob) slurmJob {
			j.BatchArgs, j.UserArgs = []string{"-t", "5"}, []string{"-t", "10", "--ntasks-per-node=1"}
			return j
		}, false,
			"salloc -t 5 -n 5 -c 4 -J pcocc --distribution=block:block -t 10 --ntasks-per-node=1 -- /usr/libexec/pcocc/pcocc-vm __slurm-launch --network pcocc -c 4 img1:2,img2:3"},
		{"batch: user's Slurm options after pcocc's", func(j slurmJob) slurmJob {
			j.Script, j.UserArgs = "s", []string{"-N", "2", "--job-name=x"}
			return j
		}, true,
			"sbatch -n 5 -c 4 -J pcocc --distribution=block:block -o pcocc-%j.out -N 2 --job-name=x --wrap=exec /usr/libexec/pcocc/pcocc-vm __slurm-launch --network pcocc -E s -c 4 img1:2,img2:3"},
		{"the templates' ports", func(j slurmJob) slurmJob { j.Ports = []int{80, 8080}; return j }, false,
			"salloc -n 5 -c 4 -J pcocc --distribution=block:block -- /usr/libexec/pcocc/pcocc-vm __slurm-launch --network pcocc --ports 80,8080 -c 4 img1:2,img2:3"},
		{"a Docker environment: the engine's timeout", func(j slurmJob) slurmJob {
			j.Def, j.NVMs, j.Cores, j.MemMiB, j.Docker = "docker-persist", 1, 2, 4096, 300*time.Second
			return j
		}, false,
			"salloc -n 1 -c 2 --mem-per-cpu=2048 -J pcocc --distribution=block:block -- /usr/libexec/pcocc/pcocc-vm __slurm-launch --network pcocc --docker 5m0s -c 2 -m 4096 docker-persist"},
		{"batch output", func(j slurmJob) slurmJob { j.Script, j.Output = "s", "out-%j"; return j }, true,
			"sbatch -n 5 -c 4 -J pcocc --distribution=block:block -o out-%j --wrap=exec /usr/libexec/pcocc/pcocc-vm __slurm-launch --network pcocc -E s -c 4 img1:2,img2:3"},
	} {
		got := strings.Join(submitArgv(tc.j(base), tc.batch), " ")
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestStepArgv(t *testing.T) {
	j := slurmJob{Def: "tiny:2", NVMs: 2, Cores: 1, MemMiB: 256, Network: "pcocc", Self: "/p/pcocc-vm"}
	want := "srun -K -X -Q --vm=pcocc -n 2 /p/pcocc-vm __vm-hypervisor -c 1 -m 256 tiny:2"
	if got := strings.Join(stepArgv(j), " "); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

// A Docker environment's hypervisor attaches the data disk (--docker).
func TestStepArgvDocker(t *testing.T) {
	j := slurmJob{Def: "docker", NVMs: 1, Cores: 1, MemMiB: 2048, Network: "pcocc", Self: "/p/pcocc-vm", Docker: time.Minute}
	want := "srun -K -X -Q --vm=pcocc -n 1 /p/pcocc-vm __vm-hypervisor --docker -c 1 -m 2048 docker"
	if got := strings.Join(stepArgv(j), " "); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestStepArgvPorts(t *testing.T) {
	j := slurmJob{Def: "tiny:2", NVMs: 2, Cores: 1, Network: "pcocc", Self: "/p/pcocc-vm", Ports: []int{80, 443}}
	want := "srun -K -X -Q --vm=pcocc:80,443 -n 2 /p/pcocc-vm __vm-hypervisor -c 1 tiny:2"
	if got := strings.Join(stepArgv(j), " "); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestClusterPorts(t *testing.T) {
	mk := func(ports ...[]int) []vm.VM {
		var vs []vm.VM
		for _, p := range ports {
			vs = append(vs, vm.VM{Template: vm.Template{Ports: p}})
		}
		return vs
	}
	got, err := clusterPorts(mk([]int{8080, 80}, nil, []int{443, 80}))
	if err != nil || fmt.Sprint(got) != "[80 443 8080]" {
		t.Errorf("union: %v %v", got, err)
	}
	if _, err := clusterPorts(mk([]int{1, 2, 3, 4, 5}, []int{6, 7, 8, 9})); err == nil || !strings.Contains(err.Error(), "9 ports") {
		t.Errorf("9 ports: %v", err)
	}
}

func TestHypervisorMemMiB(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		mem, cores int
		env        map[string]string
		want       int
	}{
		{512, 2, map[string]string{"SLURM_MEM_PER_CPU": "100"}, 512},
		{0, 2, map[string]string{"SLURM_MEM_PER_CPU": "100"}, 200},
		{0, 2, map[string]string{"SLURM_MEM_PER_NODE": "1000", "SLURM_NTASKS_PER_NODE": "4"}, 250},
		{0, 2, map[string]string{"SLURM_MEM_PER_CPU": "x"}, 0},
		{0, 1, nil, 0},
	} {
		if got := hypervisorMemMiB(tc.mem, tc.cores, env(tc.env)); got != tc.want {
			t.Errorf("hypervisorMemMiB(%d, %d, %v) = %d, want %d", tc.mem, tc.cores, tc.env, got, tc.want)
		}
	}
}

func TestCheckNetworkName(t *testing.T) {
	for n, ok := range map[string]bool{"pcocc": true, "a": true, "n-1_x": true, "": false, "1a": false, "-a": false,
		"a b": false, "a;rm": false, strings.Repeat("a", 32): true, strings.Repeat("a", 33): false, "é": false} {
		if err := checkNetworkName(n); (err == nil) != ok {
			t.Errorf("checkNetworkName(%q) = %v", n, err)
		}
	}
}

func TestParseMarker(t *testing.T) {
	for l, want := range map[string]hvEvent{
		"pcocc-hv ready 3":                  {ready: true, vm: 3},
		`pcocc-hv ended 1 "on n2: boom\nx"`: {vm: 1, msg: "on n2: boom\nx"},
	} {
		if got, ok := parseMarker(l); !ok || got != want {
			t.Errorf("parseMarker(%q) = %+v, %v", l, got, ok)
		}
	}
	for _, l := range []string{"hello", "pcocc-hv ready x", "pcocc-hv ready 1 2", "pcocc-hv what 1", "pcocc-hv ended 1"} {
		if _, ok := parseMarker(l); ok {
			t.Errorf("parseMarker(%q) accepted", l)
		}
	}
}

func TestReadVMEnv(t *testing.T) {
	good := map[string]string{"SLURM_JOB_ID": "12", "SLURM_PROCID": "1", "SLURM_NTASKS": "2", "PCOCC_VM_INDEX": "1",
		"PCOCC_VM_TAP": "pcv12t1", "PCOCC_VM_MAC": "52:54:00:00:00:01", "PCOCC_VM_MTU": "1450"}
	with := func(k, v string) func(string) string {
		return func(x string) string {
			if x == k {
				return v
			}
			return good[x]
		}
	}
	if v, err := readVMEnv(with("", "")); err != nil || v.Tap != "pcv12t1" || v.Index != 1 || v.MTU != 1450 {
		t.Fatalf("good env: %+v %v", v, err)
	}
	if _, err := readVMEnv(with("PCOCC_VM_TAP", "")); err != errNoVMPath {
		t.Errorf("no tap: %v", err)
	}
	for k, v := range map[string]string{"PCOCC_VM_TAP": "a,b", "PCOCC_VM_MAC": "52:54:00:00:00:01,x", "PCOCC_VM_INDEX": "0",
		"SLURM_PROCID": "", "SLURM_JOB_ID": "x", "PCOCC_VM_MTU": "9"} {
		if _, err := readVMEnv(with(k, v)); err == nil || err == errNoVMPath {
			t.Errorf("%s=%q: %v", k, v, err)
		}
	}
}
