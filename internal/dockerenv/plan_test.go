package dockerenv

import (
	"reflect"
	"testing"
	"time"
)

func TestNewPlan(t *testing.T) {
	for _, c := range []struct {
		name string
		req  Request
		want Plan
		err  bool
	}{
		{"defaults", Request{}, Plan{Def: "docker", Cores: 1, MemMiB: 2048, Timeout: DefaultTimeout}, false},
		{"cores give memory", Request{Template: "docker-persist", Cores: 4, Timeout: time.Minute},
			Plan{Def: "docker-persist", Cores: 4, MemMiB: 8192, Timeout: time.Minute}, false},
		{"negative cores", Request{Cores: -1}, Plan{}, true},
		{"negative timeout", Request{Timeout: -time.Second}, Plan{}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := NewPlan(c.req)
			if (err != nil) != c.err {
				t.Fatalf("err = %v, want error %v", err, c.err)
			}
			if !c.err && p != c.want {
				t.Errorf("plan %+v, want %+v", p, c.want)
			}
		})
	}
}

func TestPaths(t *testing.T) {
	if got := DockerHost("/run/u/pcocc/vm/7"); got != "unix:///run/u/pcocc/vm/7/docker/docker.sock" {
		t.Errorf("DockerHost = %q", got)
	}
	want := []string{"export DOCKER_HOST='unix:///tmp/a b/docker/docker.sock'", "export PCOCC_JOB_ID=3"}
	if got := EnvLines("/tmp/a b", 3); !reflect.DeepEqual(got, want) {
		t.Errorf("EnvLines = %q, want %q", got, want)
	}
	if got := EnvLines("/tmp/x", 3)[0]; got != "export DOCKER_HOST=unix:///tmp/x/docker/docker.sock" {
		t.Errorf("EnvLines unquoted = %q", got)
	}
}

func TestDataDiskArgs(t *testing.T) {
	want := []string{"-drive", "file=/w/a,,b.img,if=none,id=dockerdata,format=raw,cache=writeback",
		"-device", "virtio-blk-pci,drive=dockerdata,serial=pcocc-docker"}
	if got := DataDiskArgs("/w/a,b.img"); !reflect.DeepEqual(got, want) {
		t.Errorf("DataDiskArgs = %q, want %q", got, want)
	}
}

func TestBuildTag(t *testing.T) {
	for in, want := range map[string]string{"myubuntu": "myubuntu:latest", "user:MyImg": "myimg:latest", "r:img@2": "img:latest"} {
		if got := BuildTag(in); got != want {
			t.Errorf("BuildTag(%q) = %q, want %q", in, got, want)
		}
	}
}
