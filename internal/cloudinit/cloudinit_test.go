package cloudinit

import (
	"bytes"
	stdcmp "cmp"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"
	"github.com/kdomanski/iso9660"

	"github.com/pcocc/pcocc/internal/sshkeys"
)

func seed(ud string) Seed {
	return Seed{InstanceID: "i-1", Hostname: "vm3", User: "alice",
		AuthorizedKeys: []string{"ssh-ed25519 AAAA alice"}, UserData: ud}
}

func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	if !bytes.HasPrefix(data, []byte("#cloud-config\n")) {
		t.Fatalf("no #cloud-config line: %q", data)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestUserDataMerge(t *testing.T) {
	got := decode(t, must(seed(`#cloud-config
hostname: custom
packages: [htop]
users:
  - name: bob
ssh_authorized_keys: [ssh-ed25519 BBBB bob]
`).UserDataFile()))
	want := map[string]any{
		"hostname":            "custom", // theirs wins on a scalar
		"packages":            []any{"htop"},
		"ssh_authorized_keys": []any{"ssh-ed25519 AAAA alice", "ssh-ed25519 BBBB bob"},
		"ssh_genkeytypes":     []any{"ed25519"},
		"ssh_deletekeys":      true,
		"manage_etc_hosts":    true,
		"users": []any{"default", map[string]any{
			"name": "alice", "sudo": "ALL=(ALL) NOPASSWD:ALL", "shell": "/bin/bash", "lock_passwd": true,
			"ssh_authorized_keys": []any{"ssh-ed25519 AAAA alice"},
		}, map[string]any{"name": "bob"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged (-want +got):\n%s", diff)
	}
}

func TestUserDataNoUserHostKey(t *testing.T) {
	h, err := sshkeys.NewHostKey("vm0")
	if err != nil {
		t.Fatal(err)
	}
	s := Seed{InstanceID: "x", Hostname: "vm0", AuthorizedKeys: []string{"k"}, HostKeyPrivate: h.PrivatePEM, HostKeyPublic: h.Public}
	got := decode(t, must(s.UserDataFile()))
	if _, ok := got["users"]; ok {
		t.Errorf("users without User: %v", got["users"])
	}
	keys := got["ssh_keys"].(map[string]any)
	if keys["ed25519_private"] != h.PrivatePEM || keys["ed25519_public"] != h.Public {
		t.Errorf("ssh_keys = %v", keys)
	}
	if len(got["ssh_genkeytypes"].([]any)) != 0 {
		t.Errorf("ssh_genkeytypes = %v", got["ssh_genkeytypes"])
	}
}

func TestUserDataScriptIsMultipart(t *testing.T) {
	data := must(seed("#!/bin/sh\necho hi > /tmp/x").UserDataFile())
	head, body, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		t.Fatalf("no header: %q", data)
	}
	ct := strings.TrimPrefix(strings.Split(string(head), "\n")[0], "Content-Type: ")
	_, params, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatal(err)
	}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var types, texts []string
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		types = append(types, strings.Split(p.Header.Get("Content-Type"), ";")[0])
		texts = append(texts, string(b))
	}
	if diff := cmp.Diff([]string{"text/cloud-config", "text/x-shellscript"}, types); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	if len(texts) == 2 && (!strings.Contains(texts[0], "hostname: vm3") || texts[1] != "#!/bin/sh\necho hi > /tmp/x\n") {
		t.Errorf("parts = %q", texts)
	}
}

func TestUserDataBadCloudConfig(t *testing.T) {
	if _, err := seed("#cloud-config\na: [b\n").UserDataFile(); err == nil || !strings.Contains(err.Error(), "user-data") {
		t.Errorf("error %v", err)
	}
}

func TestMetaDataQuotes(t *testing.T) {
	got := string(Seed{InstanceID: "yes", Hostname: "vm0"}.MetaData())
	var m map[string]any
	if err := yaml.Unmarshal([]byte(got), &m); err != nil || m["instance-id"] != "yes" || m["local-hostname"] != "vm0" {
		t.Errorf("meta-data %q: %v %v", got, m, err)
	}
}

// The ISO, read back with an ISO 9660 reader: label, names and contents.
func TestWriteISO(t *testing.T) {
	s := seed("#cloud-config\npackages: [htop]\n")
	path := filepath.Join(t.TempDir(), "seed.iso")
	if err := s.WriteISO(path); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := iso9660.OpenImage(f)
	if err != nil {
		t.Fatal(err)
	}
	if label, err := img.Label(); err != nil || label != VolumeID {
		t.Errorf("label %q, %v", label, err)
	}
	root, _ := img.RootDir()
	children, err := root.GetChildren()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range children {
		b, _ := io.ReadAll(c.Reader())
		got[c.Name()] = string(b)
	}
	want := map[string]string{"meta-data": string(s.MetaData()), "user-data": string(must(s.UserDataFile()))}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".tmp-*"))
	if len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// The tiny test guest (scripts/vm-images.sh) mounts the seed with Linux's
// isofs and prints the hostname it read from meta-data: the seed works for
// a real kernel, not only for this package's reader.
func TestSeedReadByLinux(t *testing.T) {
	dir := os.Getenv("PCOCC_VM_IMAGES")
	if dir == "" {
		dir = filepath.Join(stdcmp.Or(os.Getenv("PCOCC_CI_DIR"), "/var/tmp/pcocc-ci"), "vm-images")
	}
	tiny := filepath.Join(dir, "tiny")
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if _, serr := os.Stat(filepath.Join(tiny, "vmlinuz")); serr != nil || err != nil {
		t.Skip("no tiny guest (scripts/vm-images.sh tiny) or no qemu")
	}
	iso := filepath.Join(t.TempDir(), "seed.iso")
	if err := (Seed{InstanceID: "i-9", Hostname: "vm42"}).WriteISO(iso); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, qemu, "-accel", "tcg", "-machine", "q35", "-m", "256",
		"-nographic", "-nodefaults", "-no-reboot", "-serial", "stdio",
		"-kernel", filepath.Join(tiny, "vmlinuz"), "-initrd", filepath.Join(tiny, "initrd.gz"),
		"-append", "console=ttyS0 quiet panic=-1 pcocc.poweroff=booted",
		"-drive", "file="+iso+",if=virtio,format=raw,readonly=on").CombinedOutput()
	if !strings.Contains(string(out), "PCOCC-TINY-GUEST-BOOTED hostname=vm42") {
		t.Fatalf("the guest did not read its hostname from the seed (%v):\n%s", err, out)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// Mount points become cloud-init mounts entries; the template's own
// mounts add up.
func TestUserDataMounts(t *testing.T) {
	s := Seed{InstanceID: "x", Hostname: "vm0", Mounts: []Mount{{Tag: "data", Dir: "/mnt/data"}, {Tag: "opt", Dir: "/mnt/opt", Readonly: true}},
		UserData: "#cloud-config\nmounts:\n  - [vdc, /scratch]\n"}
	got := decode(t, must(s.UserDataFile()))
	want := []any{
		[]any{"data", "/mnt/data", "virtiofs", "defaults,nofail", "0", "0"},
		[]any{"opt", "/mnt/opt", "virtiofs", "defaults,nofail,ro", "0", "0"},
		[]any{"vdc", "/scratch"},
	}
	if diff := cmp.Diff(want, got["mounts"]); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	if _, ok := decode(t, must(Seed{InstanceID: "x"}.UserDataFile()))["mounts"]; ok {
		t.Error("mounts without mount points")
	}
}
