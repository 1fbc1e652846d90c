package vm

import (
	"strings"
	"testing"
)

func TestShareArgv(t *testing.T) {
	v := VM{Index: 0, Name: "vm0", Cores: 1, MemMiB: 256, Files: FilesFor("/j", 0)}
	v.Template = Template{Image: "/i.qcow2",
		Mounts: []Mount{{Tag: "data", Path: "/srv/data"}, {Tag: "opt,x", Path: "/opt", Readonly: true}},
		Drives: []Drive{{Path: "/d/a.raw"}, {Path: "/d/b,c.qcow2", Format: "qcow2", Cache: "none", Share: ShareCluster},
			{Path: "/d/s.raw", Share: ShareAny}}}
	v.HasSeed = true
	got := strings.Join(Argv(v, AccelTCG, nil), " ")
	for _, h := range []string{
		"-device virtio-blk-pci,drive=seed -drive file=/d/a.raw,if=none,id=pd0,format=raw,cache=writeback -device virtio-blk-pci,drive=pd0 ",
		"-drive file=/d/b,,c.qcow2,if=none,id=pd1,format=qcow2,cache=none -device virtio-blk-pci,drive=pd1,share-rw=on ",
		"-drive file=/d/s.raw,if=none,id=pd2,format=raw,cache=writeback,file.locking=off -device virtio-blk-pci,drive=pd2,share-rw=on ",
		"-object memory-backend-memfd,id=mem,size=256M,share=on -numa node,memdev=mem",
		"-chardev socket,id=fs0,path=/j/vm0-fs0.sock -device vhost-user-fs-pci,chardev=fs0,tag=data",
		"-chardev socket,id=fs1,path=/j/vm0-fs1.sock -device vhost-user-fs-pci,chardev=fs1,tag=opt,,x",
	} {
		if !strings.Contains(got, h) {
			t.Errorf("argv lacks %q:\n%s", h, got)
		}
	}
	plain := strings.Join(Argv(VM{Name: "vm0", Files: FilesFor("/j", 0)}, AccelTCG, nil), " ")
	for _, n := range []string{"memfd", "vhost-user", "pd0"} {
		if strings.Contains(plain, n) {
			t.Errorf("argv of a VM with no mount or drive has %q", n)
		}
	}
}

func TestFSDaemonArgv(t *testing.T) {
	v := VM{Name: "vm1", Files: FilesFor("/j", 1), Template: Template{Mounts: []Mount{
		{Tag: "a", Path: "/srv/a"}, {Tag: "b", Path: "/srv/b b", Readonly: true}}}}
	for k, want := range []string{
		"virtiofsd /srv/a /j/vm1-fs0.sock rw /usr/lib/qemu/virtiofsd",
		"virtiofsd /srv/b b /j/vm1-fs1.sock ro /usr/lib/qemu/virtiofsd",
	} {
		a := FSDaemonArgv(v, k, "/usr/lib/qemu/virtiofsd")
		if strings.Join(a[:8], " ") != "unshare --user --map-root-user --map-auto --setgroups allow --mount --" {
			t.Errorf("mount %d: not in a user namespace of its own: %q", k, a)
		}
		// The paths are arguments of the script, never part of its text.
		if got := strings.Join(a[len(a)-5:], " "); got != want {
			t.Errorf("mount %d: arguments %q, want %q", k, got, want)
		}
	}
}

func TestPlanDrives(t *testing.T) {
	tpl := func(share string) func(string) (Template, error) {
		return func(string) (Template, error) {
			return Template{Drives: []Drive{{Path: "/d/x.raw", Share: share}}}, nil
		}
	}
	for _, tc := range []struct {
		share, def, err string
	}{
		{ShareNone, "t", ""},
		{ShareNone, "t:2", "persistent drive /d/x.raw: vm0 and vm1 would both use it"},
		{ShareCluster, "t:2", ""},
		{ShareAny, "t:3", ""},
	} {
		reqs, _ := ParseDef(tc.def)
		_, err := Plan(reqs, tpl(tc.share), Resources{}, "/j")
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s share %q: error %v, want %q", tc.def, tc.share, err, tc.err)
		}
	}
}
