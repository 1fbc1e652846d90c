package vm

import (
	"strings"
	"testing"
)

func TestArgv(t *testing.T) {
	base := VM{Index: 1, Name: "vm1", Cores: 2, MemMiB: 256, MAC: MAC(1), Files: FilesFor("/j", 1)}
	withDisk := base
	withDisk.Template = Template{Image: "/i.qcow2", Kernel: "/k", Initrd: "/i", Append: "console=ttyS0 quiet"}
	custom := base
	custom.Template = Template{QemuBin: "/opt/qemu", MachineType: "pc", CPUModel: "qemu64", NICModel: "e1000",
		DiskModel: "ide", DiskCache: "none", Image: "/i.qcow2", CustomArgs: []string{"-rtc", "base=utc"}}
	seeded := withDisk
	seeded.HasSeed = true
	for _, tc := range []struct {
		name     string
		vm       VM
		accel    Accel
		net      []string
		has, not []string
	}{
		{name: "tcg no disk no net", vm: base, accel: AccelTCG,
			has: []string{"qemu-system-x86_64 -name vm1 ", "-accel tcg,tb-size=64 -cpu max -smp 2 -m 256M",
				"-qmp unix:/j/vm1.qmp,server=on,wait=off",
				"-chardev socket,id=con,path=/j/vm1.con,server=on,wait=off,logfile=/j/vm1.log -serial chardev:con"},
			not: []string{"-drive", "-kernel", "netdev", "seed"}},
		{name: "kvm disk kernel", vm: withDisk, accel: AccelKVM,
			has: []string{"-accel kvm -cpu host", "-drive file=/j/vm1.qcow2,if=none,id=disk0,format=qcow2,cache=writeback -device virtio-blk-pci,drive=disk0",
				"-kernel /k -initrd /i -append console=ttyS0 quiet"}},
		{name: "seed after the disk", vm: seeded, accel: AccelTCG,
			has: []string{"-device virtio-blk-pci,drive=disk0 -drive file=/j/vm1-seed.iso,if=none,id=seed,format=raw,readonly=on -device virtio-blk-pci,drive=seed"}},
		{name: "net", vm: base, accel: AccelTCG, net: []string{"-netdev", "tap,id=net0,ifname=vmtap1"},
			has: []string{"-netdev tap,id=net0,ifname=vmtap1 -device virtio-net-pci,netdev=net0,mac=52:54:00:00:00:01"}},
		{name: "template overrides", vm: custom, accel: AccelTCG, net: []string{"-netdev", "user,id=net0"},
			has: []string{"/opt/qemu -name", "-machine pc", "-cpu qemu64", "cache=none -device ide-hd,drive=disk0",
				"-device e1000,netdev=net0", "-rtc base=utc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(Argv(tc.vm, tc.accel, tc.net), " ")
			for _, h := range tc.has {
				if !strings.Contains(got, h) {
					t.Errorf("argv lacks %q:\n%s", h, got)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("argv has %q:\n%s", n, got)
				}
			}
		})
	}
}
